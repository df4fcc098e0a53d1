package syncengine

import (
	"time"

	"github.com/throughcare/throughcare/syncproto/hlc"
)

// ServerDevice is the device id, and the HLC replica id, of the changes
// the server writes on its own account: a new client's record, review
// notes, conflict resolutions.
const ServerDevice = "server"

// NewServerClock returns the server's hybrid logical clock, stamping with
// replica ServerDevice. A server has one: every service that writes on
// the server's account shares it, so two of its writes never share a
// stamp. Stamps written before under another replica id ("server-review")
// still merge as they did: a writer observes the stamps of the record it
// changes before stamping, so its new stamp is later than all of them and
// the replica tiebreak never decides between old and new server writes.
func NewServerClock(now func() time.Time) *hlc.Clock {
	if now == nil {
		now = time.Now
	}
	return hlc.NewClock(ServerDevice, now, 0)
}
