package caseload

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Edit sets one field of a record. Build values with the helpers in
// values.go (String, Int, Bool, Time, DateOf, AddTo, RemoveFrom, Delete).
type Edit struct {
	Field string
	Value *v1.Value
}

// Write records one user action (saving a form) on one record: its edits
// share one stamp. The record is created if it does not exist, and then
// every required field must be among the edits. The change is durable on
// the device and visible to reads when Write returns; it is sent at the
// next sync, whole in one push. Each edit's base is the value this device
// shows now, so an edit made on top of an older value than the server's is
// reported as a conflict for review, never lost. A write no push could
// carry (more changes than Config.ServerMaxBatch, or bigger than
// ServerMaxRequestBytes) is refused with ErrTooLarge and nothing is saved.
// A write setting a field the user's role may not write (the schema's
// field writers) is refused whole with ErrForbiddenField before anything
// is queued, as the server would refuse it. On a nearly full tablet every
// write is refused whole with ErrStorageFull (see Config.MinFreeBytes);
// what is saved stays readable.
//
// The typed methods (LogContact, AddGoal, ...) are built on Write; use it
// directly for fields they do not cover.
func (d *Device) Write(ctx context.Context, recordType, clientID, recordID string, edits ...Edit) error {
	return d.writeAction(ctx, recordEdits{recordType, clientID, recordID, edits})
}

// recordEdits are one record's edits in a user action.
type recordEdits struct {
	recordType, clientID, recordID string
	edits                          []Edit
}

// writeAction records one user action over one or more records (an
// appointment rescheduled: the old one marked, the new one booked) in one
// local transaction: all of it is saved, or none. Its changes are one
// write in the outbox, sent whole in one push.
func (d *Device) writeAction(ctx context.Context, recs ...recordEdits) error {
	rts := make([]*schema.RecordType, len(recs))
	for i, r := range recs {
		rt, err := d.checkWrite(r.recordType, r.clientID, r.recordID, r.edits)
		if err != nil {
			return err
		}
		rts[i] = rt
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.session == nil {
		return ErrNotEnrolled
	}
	if err := d.checkRoom(); err != nil {
		return err
	}
	me := &v1.Author{UserId: d.session.GetUserId(), DeviceId: d.session.GetDeviceId()}
	seq := d.seq
	err := d.db.Update(func(txn *local.Txn) error {
		all, stamp, err := d.actionChanges(txn, recs, rts, seq, me)
		if err != nil {
			return err
		}
		if err := queue(txn, all); err != nil {
			return err
		}
		now, next := stamp, all[len(all)-1].GetDeviceSeq()
		if err := txn.Set(writeKey(seq+1), be64(next)); err != nil {
			return err
		}
		if err := txn.Set(metaSeq, be64(next)); err != nil {
			return err
		}
		if err := txn.Set(metaClock, be64(now.Time)); err != nil {
			return err
		}
		seq = next
		return nil
	})
	if err != nil {
		return d.storageErr(err)
	}
	// Committed: the changes hold their sequence numbers whether or not the
	// flush below succeeds, so the next write must follow them.
	d.status.Pending += int(seq - d.seq)
	d.seq = seq
	d.events.emit(Event{Kind: LocalWrite, ClientIDs: actionClients(recs)})
	if ids := appointmentClients(recs); len(ids) > 0 {
		d.events.emit(Event{Kind: AppointmentsChanged, ClientIDs: ids})
	}
	if err := d.flush(); err != nil {
		return fmt.Errorf("caseload: the write was saved but could not be flushed to disk: %w", d.storageErr(err))
	}
	return nil
}

// actionChanges builds a user action's changes, numbered from after seq,
// over the records as this device shows them, and checks them as the
// server would. d.mu is held.
func (d *Device) actionChanges(txn *local.Txn, recs []recordEdits, rts []*schema.RecordType, seq uint64, me *v1.Author) ([]*v1.Change, hlc.Stamp, error) {
	var (
		all []*v1.Change
		now hlc.Stamp
	)
	next := seq
	for i, r := range recs {
		bucket, _ := uid(r.clientID)
		record, _ := uid(r.recordID)
		cur, _, err := d.view(txn, bucket, record, me)
		if err != nil {
			return nil, now, err
		}
		chs, stamp, err := d.changes(cur, rts[i], r.clientID, r.recordID, r.edits, next)
		if err != nil {
			return nil, now, err
		}
		if err := d.mayWrite(rts[i], r.edits); err != nil {
			return nil, now, err
		}
		all, now, next = append(all, chs...), stamp, chs[len(chs)-1].GetDeviceSeq()
	}
	if err := d.fitsOneBatch(len(all)); err != nil {
		return nil, now, err
	}
	return all, now, d.fitsOnePush(all)
}

// queue puts changes in the outbox, indexed by record, and marks their
// clients' agenda index stale.
func queue(txn *local.Txn, chs []*v1.Change) error {
	var marked [16]byte // a write's changes are one record's, or two
	for i, ch := range chs {
		raw, err := proto.Marshal(ch)
		if err != nil {
			return err
		}
		bucket, record, _ := changeKeys(ch)
		if err := txn.Set(seqKey(pOutbox, ch.GetDeviceSeq()), raw); err != nil {
			return err
		}
		if err := txn.Set(indexKey(bucket, record, ch.GetDeviceSeq()), []byte{pOutbox}); err != nil {
			return err
		}
		if i > 0 && bucket == marked {
			continue
		}
		if err := markStale(txn, bucket); err != nil {
			return err
		}
		marked = bucket
	}
	return nil
}

// checkWrite checks what Write can check without the store, and returns
// the record type.
func (d *Device) checkWrite(recordType, clientID, recordID string, edits []Edit) (*schema.RecordType, error) {
	if len(edits) == 0 {
		return nil, fmt.Errorf("caseload: %w: nothing to write", ErrInvalid)
	}
	if err := d.fitsOneBatch(len(edits)); err != nil {
		return nil, err
	}
	if recordType == "client" && recordID != clientID {
		return nil, fmt.Errorf("caseload: %w: a client record's id is the client id", ErrInvalid)
	}
	rt, ok := d.reg.Type(recordType)
	if !ok {
		return nil, fmt.Errorf("caseload: %w: unknown record type", ErrInvalid)
	}
	if !schema.ValidID(clientID) || !schema.ValidID(recordID) {
		return nil, fmt.Errorf("caseload: %w: ids must be UUIDs", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, e := range edits {
		if !isSetOp(e.Value) && seen[e.Field] {
			return nil, fmt.Errorf("caseload: %w: a field is set twice in one write", ErrInvalid)
		}
		seen[e.Field] = true
	}
	return rt, nil
}

// changes builds a write's changes over cur (the record as this device
// shows it, nil if new), numbered from after seq, sharing one new stamp.
func (d *Device) changes(cur *v1.RecordState, rt *schema.RecordType, clientID, recordID string, edits []Edit, seq uint64) ([]*v1.Change, hlc.Stamp, error) {
	if cur != nil && cur.GetRecordType() != rt.Name {
		return nil, hlc.Stamp{}, fmt.Errorf("caseload: %w: the record is a %s, not a %s", ErrInvalid, cur.GetRecordType(), rt.Name)
	}
	if cur == nil {
		set := map[string]bool{}
		for _, e := range edits {
			set[e.Field] = true
		}
		if missing := d.reg.MissingRequired(rt.Name, func(f string) bool { return set[f] }); len(missing) > 0 {
			return nil, hlc.Stamp{}, fmt.Errorf("caseload: %w: a new %s needs %v", ErrInvalid, rt.Name, missing)
		}
	}
	// Order the new stamp after every value the user saw.
	var bases []*v1.Stamp
	for _, e := range edits {
		var base *v1.Stamp
		if f := merge.Field(cur, e.Field); f != nil {
			base = f.GetStamp()
			if base == nil {
				base = cur.GetStamp()
			}
			_ = d.clock.Observe(base.GetTime())
		}
		bases = append(bases, base)
	}
	now := d.clock.Now()
	stamp := &v1.Stamp{Time: now.Time, Replica: now.Replica}
	chs := make([]*v1.Change, 0, len(edits))
	for i, e := range edits {
		ch := &v1.Change{DeviceSeq: seq + uint64(i) + 1, RecordId: recordID, RecordType: rt.Name, ClientId: clientID,
			Field: e.Field, Value: e.Value, Stamp: stamp}
		if !isSetOp(e.Value) {
			ch.Base = bases[i]
		}
		if issue := d.reg.CheckChange(d.reg.Version(), ch); issue != nil {
			return nil, hlc.Stamp{}, fmt.Errorf("caseload: %w: %s", ErrInvalid, issue.Message)
		}
		chs = append(chs, ch)
	}
	return chs, now, nil
}

// mayWrite refuses a write if the user's role may not write one of its
// fields (schema.Field.Writers), as the server would. d.mu is held.
func (d *Device) mayWrite(rt *schema.RecordType, edits []Edit) error {
	role := d.session.GetRole()
	for _, e := range edits {
		if f, ok := rt.Field(e.Field); ok && !f.WritableBy(role) {
			return fmt.Errorf("caseload: %w: %w: a %s may not write %s.%s", ErrInvalid, ErrForbiddenField, roleName(role), rt.Name, e.Field)
		}
	}
	return nil
}

// roleName names a role as users know it ("supervisor").
func roleName(r v1.Role) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
}

// actionClients are the clients a user action wrote to.
func actionClients(recs []recordEdits) []string {
	var out []string
	for _, r := range recs {
		if !slices.Contains(out, r.clientID) {
			out = append(out, r.clientID)
		}
	}
	return out
}

// appointmentClients are the clients whose appointments a user action wrote.
func appointmentClients(recs []recordEdits) []string {
	var out []string
	for _, r := range recs {
		if r.recordType == "appointment" && !slices.Contains(out, r.clientID) {
			out = append(out, r.clientID)
		}
	}
	return out
}

func isSetOp(v *v1.Value) bool {
	switch v.GetKind().(type) {
	case *v1.Value_SetAdd, *v1.Value_SetRemove:
		return true
	}
	return false
}
