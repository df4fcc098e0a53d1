package caseload

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
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
// next sync. Each edit's base is the value this device shows now, so an
// edit made on top of an older value than the server's is reported as a
// conflict for review, never lost.
//
// The typed methods (LogContact, AddGoal, ...) are built on Write; use it
// directly for fields they do not cover.
func (d *Device) Write(ctx context.Context, recordType, clientID, recordID string, edits ...Edit) error {
	if len(edits) == 0 {
		return fmt.Errorf("caseload: %w: nothing to write", ErrInvalid)
	}
	if recordType == "client" && recordID != clientID {
		return fmt.Errorf("caseload: %w: a client record's id is the client id", ErrInvalid)
	}
	rt, ok := d.reg.Type(recordType)
	if !ok {
		return fmt.Errorf("caseload: %w: unknown record type", ErrInvalid)
	}
	if !schema.ValidID(clientID) || !schema.ValidID(recordID) {
		return fmt.Errorf("caseload: %w: ids must be UUIDs", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, e := range edits {
		if !isSetOp(e.Value) && seen[e.Field] {
			return fmt.Errorf("caseload: %w: a field is set twice in one write", ErrInvalid)
		}
		seen[e.Field] = true
	}
	bucket, _ := uid(clientID)
	record, _ := uid(recordID)
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
	me := &v1.Author{UserId: d.session.GetUserId(), DeviceId: d.session.GetDeviceId()}
	seq := d.seq
	err := durable(d.db, func(txn *badger.Txn) error {
		cur, _, err := d.view(txn, bucket, record, me)
		if err != nil {
			return err
		}
		if cur != nil && cur.GetRecordType() != recordType {
			return fmt.Errorf("caseload: %w: the record is a %s, not a %s", ErrInvalid, cur.GetRecordType(), recordType)
		}
		if cur == nil {
			set := map[string]bool{}
			for _, e := range edits {
				set[e.Field] = true
			}
			if missing := d.reg.MissingRequired(rt.Name, func(f string) bool { return set[f] }); len(missing) > 0 {
				return fmt.Errorf("caseload: %w: a new %s needs %v", ErrInvalid, rt.Name, missing)
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
		n := seq
		for i, e := range edits {
			n++
			ch := &v1.Change{DeviceSeq: n, RecordId: recordID, RecordType: recordType, ClientId: clientID,
				Field: e.Field, Value: e.Value, Stamp: stamp}
			if !isSetOp(e.Value) {
				ch.Base = bases[i]
			}
			if issue := d.reg.CheckChange(d.reg.Version(), ch); issue != nil {
				return fmt.Errorf("caseload: %w: %s", ErrInvalid, issue.Message)
			}
			raw, err := proto.Marshal(ch)
			if err != nil {
				return err
			}
			if err := txn.Set(seqKey(pOutbox, n), raw); err != nil {
				return err
			}
			if err := txn.Set(indexKey(bucket, record, n), []byte{pOutbox}); err != nil {
				return err
			}
		}
		if err := txn.Set(metaSeq, be64(n)); err != nil {
			return err
		}
		if err := txn.Set(metaClock, be64(now.Time)); err != nil {
			return err
		}
		seq = n
		return nil
	})
	if err != nil {
		return err
	}
	d.status.Pending += int(seq - d.seq)
	d.seq = seq
	d.events.emit(Event{Kind: LocalWrite, ClientIDs: []string{clientID}})
	return nil
}

func isSetOp(v *v1.Value) bool {
	switch v.GetKind().(type) {
	case *v1.Value_SetAdd, *v1.Value_SetRemove:
		return true
	}
	return false
}
