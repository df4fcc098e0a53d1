package syncengine

import (
	"context"
	"time"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// ServerDevice is the device id, and the HLC replica id, of the changes
// the server writes on its own account: a new client's record, review
// notes, conflict resolutions.
const ServerDevice = "server"

// newServerClock returns the server's hybrid logical clock, stamping with
// replica ServerDevice. A server has one (the engine's), and
// every write on the server's account goes through WriteAs, so two of its
// writes never share a stamp. Stamps written before under another replica
// id ("server-review") still merge as they did: WriteAs observes the
// stamps of the records it changes before stamping, so its new stamp is
// later than all of them and the replica tiebreak never decides between
// old and new server writes.
func newServerClock(now func() time.Time) *hlc.Clock {
	return hlc.NewClock(ServerDevice, now, 0)
}

// WriteAs is the one door for changes the server writes on a user's
// behalf (a new client's record, review notes, conflict resolutions): the
// user is their author and ServerDevice their device. In one transaction
// it numbers the changes after the server's high-water mark, observes
// every stamp of the records they change and stamps them all with one new
// stamp of the server's clock (so they win over what they build on),
// checks that records they create get their
// required fields (*RejectedError), decides each with check if set, and
// applies them through the merge loop as a push is applied. Changes need
// no DeviceSeq or Stamp; their Base, if set, is kept. The caller decides
// who may make them.
//
// The changes are validated first (CheckWrite); nothing is written if one
// is invalid.
func (e *Engine) WriteAs(ctx context.Context, userID string, changes []*v1.Change, check func(ch *v1.Change, current *v1.RecordState) Decision) (*PushResult, error) {
	return e.write(ctx, userID, nil, changes, check)
}

// WriteAudited is WriteAs for an action that leaves an audit entry (a
// review note, a conflict resolution): entry's user is the author, and
// the entry is appended in the write's transaction if a change is applied
// (see Batch.Audit), so the write and its entry are kept together or not
// at all.
func (e *Engine) WriteAudited(ctx context.Context, entry *store.Audit, changes []*v1.Change, check func(ch *v1.Change, current *v1.RecordState) Decision) (*PushResult, error) {
	return e.write(ctx, entry.UserID, entry, changes, check)
}

func (e *Engine) write(ctx context.Context, userID string, entry *store.Audit, changes []*v1.Change, check func(ch *v1.Change, current *v1.RecordState) Decision) (*PushResult, error) {
	if err := e.CheckWrite(changes); err != nil {
		return nil, err
	}
	now := e.cfg.Now()
	b := &Batch{UserID: userID, DeviceID: ServerDevice, ReceivedAt: now, Changes: changes, AssignSeq: true,
		Check: check, Created: e.requiredFields(changes), Audit: entry}
	b.stamp = func(loaded []*v1.RecordState) error {
		for _, st := range loaded {
			observeRecord(e.clock, st)
		}
		hs := e.clock.Now()
		for _, ch := range changes {
			ch.Stamp = &v1.Stamp{Time: hs.Time, Replica: hs.Replica}
		}
		return nil
	}
	res, err := Apply(ctx, e.cfg.Store, b)
	if err == nil {
		e.cfg.Meter.Applied(true, res.Results)
	}
	return res, err
}

// CheckWrite validates changes for WriteAs against the current schema and
// returns the first problem as a *schema.Issue (its message names the
// field, never the value). A caller that must refuse bad input before it
// does anything else calls it first; WriteAs calls it too. It numbers and
// stamps changes that have no DeviceSeq or Stamp provisionally (WriteAs
// replaces both).
func (e *Engine) CheckWrite(changes []*v1.Change) error {
	for i, ch := range changes {
		if ch.GetDeviceSeq() == 0 {
			ch.DeviceSeq = uint64(i + 1)
		}
		if ch.GetStamp() == nil {
			ch.Stamp = &v1.Stamp{Time: hlc.Pack(e.cfg.Now().UnixMilli(), 0), Replica: ServerDevice}
		}
		if iss := e.cfg.Schema.CheckChange(e.cfg.Schema.Version(), ch); iss != nil {
			return iss
		}
	}
	return nil
}

// observeRecord moves the clock past every stamp of a record.
func observeRecord(c *hlc.Clock, st *v1.RecordState) {
	for _, f := range st.GetFields() {
		_ = c.Observe(f.GetStamp().GetTime()) // a stamp too far ahead is not followed
	}
	for _, cf := range st.GetConflicts() {
		_ = c.Observe(cf.GetCurrent().GetStamp().GetTime())
		_ = c.Observe(cf.GetIncoming().GetStamp().GetTime())
	}
}
