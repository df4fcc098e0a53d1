package caseload

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// What the device shows is the server's state of each record with this
// device's own changes applied over it: those not yet accepted (the outbox)
// and those accepted but not yet seen in a pull. The merge rules are the
// server's (syncproto/merge), so the view is what the server converges to.

// localRecord is a record as the device shows it.
type localRecord struct {
	state   *v1.RecordState // expanded
	pending bool            // has changes the server has not accepted yet
}

// view returns one record as the device shows it, or nil if the device
// holds nothing of it.
func (d *Device) view(txn *local.Txn, bucket, record [16]byte, me *v1.Author) (*v1.RecordState, bool, error) {
	var state *v1.RecordState
	raw, ok, err := get(txn, recordKey(bucket, record))
	if err != nil {
		return nil, false, err
	}
	if ok {
		state = &v1.RecordState{}
		if err := proto.Unmarshal(raw, state); err != nil {
			return nil, false, fmt.Errorf("caseload: corrupt record: %w", err)
		}
		state = merge.Expand(state)
	}
	prefix := indexKey(bucket, record, 0)[:33]
	chs, pending, err := ownChanges(txn, prefix)
	if err != nil {
		return nil, false, err
	}
	// Edits waiting to be sent for a client taken off the caseload do not
	// bring it back, nor do records its purge has not deleted yet.
	if gone, err := evicted(txn, bucket); err != nil || gone {
		return nil, pending, err
	}
	return applyOwn(state, chs, me), pending, nil
}

// ownChanges loads this device's changes indexed under prefix, in order.
func ownChanges(txn *local.Txn, prefix []byte) ([]*v1.Change, bool, error) {
	it := txn.NewIterator(local.IterOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	var (
		out     []*v1.Change
		pending bool
	)
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Key()
		where, err := it.ValueCopy()
		if err != nil {
			return nil, false, err
		}
		if len(where) != 1 {
			return nil, false, fmt.Errorf("caseload: corrupt index entry")
		}
		seq := k[len(k)-8:]
		raw, ok, err := get(txn, append([]byte{where[0]}, seq...))
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue // moved by a concurrent push; the next read sees it
		}
		ch := &v1.Change{}
		if err := proto.Unmarshal(raw, ch); err != nil {
			return nil, false, fmt.Errorf("caseload: corrupt change: %w", err)
		}
		out = append(out, ch)
		pending = pending || where[0] == pOutbox
	}
	return out, pending, nil
}

// applyOwn applies the device's changes over the server's state. Conflicts
// the server has not raised yet are left to the server: the view shows the
// value every replica will converge on.
func applyOwn(state *v1.RecordState, chs []*v1.Change, me *v1.Author) *v1.RecordState {
	if len(chs) == 0 {
		return state
	}
	if state == nil {
		state = merge.NewRecord(chs[0].GetRecordId(), chs[0].GetRecordType())
	}
	for _, ch := range chs {
		merge.Apply(state, ch, me, 0, timeZero)
	}
	state.Conflicts = slices.DeleteFunc(state.Conflicts, func(c *v1.Conflict) bool { return c.GetId() == 0 })
	return state
}

// bucketView returns every record of a client as the device shows it,
// keyed by record id.
func (d *Device) bucketView(txn *local.Txn, bucket [16]byte, me *v1.Author) (map[string]*localRecord, error) {
	out := map[string]*localRecord{}
	if gone, err := evicted(txn, bucket); err != nil || gone {
		return out, err // see view
	}
	prefix := bucketPrefix(pRecord, bucket)
	it := txn.NewIterator(local.IterOptions{Prefix: prefix, PrefetchValues: true})
	for it.Rewind(); it.Valid(); it.Next() {
		raw, err := it.ValueCopy()
		if err != nil {
			it.Close()
			return nil, err
		}
		st := &v1.RecordState{}
		if err := proto.Unmarshal(raw, st); err != nil {
			it.Close()
			return nil, fmt.Errorf("caseload: corrupt record: %w", err)
		}
		out[st.GetRecordId()] = &localRecord{state: merge.Expand(st)}
	}
	it.Close()

	// The device's own changes, grouped by record (the index is ordered by
	// record, then sequence).
	iprefix := bucketPrefix(pIndex, bucket)
	it = txn.NewIterator(local.IterOptions{Prefix: iprefix})
	var records [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Key()
		rec := k[17:33]
		if n := len(records); n == 0 || !bytes.Equal(records[n-1], rec) {
			records = append(records, slices.Clone(rec))
		}
	}
	it.Close()
	for _, rec := range records {
		chs, pending, err := ownChanges(txn, append(slices.Clone(iprefix), rec...))
		if err != nil {
			return nil, err
		}
		if len(chs) == 0 {
			continue
		}
		id := chs[0].GetRecordId()
		lr := out[id]
		if lr == nil {
			lr = &localRecord{}
			out[id] = lr
		}
		lr.state = applyOwn(lr.state, chs, me)
		lr.pending = pending
	}
	return out, nil
}

// evicted reports whether the client was taken off the device's caseload
// (and not given back since).
func evicted(txn *local.Txn, bucket [16]byte) (bool, error) {
	_, ok, err := get(txn, bucketPrefix(pEvicted, bucket))
	return ok, err
}
