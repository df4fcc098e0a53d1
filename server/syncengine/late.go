package syncengine

import (
	"fmt"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

func accessEnded(format string, args ...any) store.Decision {
	return store.Decision{Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED, Message: fmt.Sprintf(format, args...)}
}

func dateOf(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") }

// late decides a change for a client the caller does not hold: work
// stamped while they held it is accepted and flagged, work stamped after
// is refused.
func (a *authorizer) late(ch *v1.Change, _ *v1.RecordState) store.Decision {
	periods := a.id.Former[ch.GetClientId()]
	if len(periods) == 0 {
		return notFound
	}
	at := hlc.Wall(ch.GetStamp().GetTime())
	if !slices.ContainsFunc(periods, func(p identity.Period) bool { return p.Covers(at) }) {
		return accessEnded("made after your access to this client ended (%s); it was not saved", dateOf(periods[len(periods)-1].To))
	}
	return store.Decision{Late: true}
}
