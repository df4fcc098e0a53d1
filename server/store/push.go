package store

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// working is a record being changed by a push.
type working struct {
	bucket, record [16]byte
	state          *v1.RecordState // expanded
	oldPos         uint64          // 0 if the record is new
	dirty          bool
}

// Push applies a batch in one durable transaction (see the package doc).
func (s *DB) Push(ctx context.Context, b *Batch) (*PushResult, error) {
	var res *PushResult
	err := s.retry(ctx, func(txn *badger.Txn) error {
		var err error
		res, err = s.push(txn, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(res.Heads) > 0 {
		s.watchers.notify(res.Heads)
	}
	return res, nil
}

func (s *DB) push(txn *badger.Txn, b *Batch) (*PushResult, error) {
	if len(b.DeviceID) == 0 || len(b.DeviceID) > 255 {
		return nil, fmt.Errorf("store: device id must be 1 to 255 bytes")
	}
	hwm, err := getUint(txn, deviceKey(b.DeviceID))
	if err != nil {
		return nil, err
	}
	author := &v1.Author{UserId: b.UserID, DeviceId: b.DeviceID}
	received := timestamppb.New(b.ReceivedAt)
	res := &PushResult{Results: make([]Result, len(b.Changes)), Heads: map[string]uint64{}}
	records := map[[32]byte]*working{}
	heads := map[[16]byte]uint64{}
	bucketIDs := map[[16]byte]string{}

	// First pass: report changes the device already pushed with their
	// original verdicts, check the new ones follow the high-water mark
	// without gaps, and load every record they touch, so that the changes
	// and the records the batch creates can be checked before anything is
	// applied.
	loaded := make([]*working, len(b.Changes))
	var created [][]int
	createdIdx := map[*working]int{}
	next := hwm + 1
	if b.AssignSeq {
		for i, ch := range b.Changes {
			ch.DeviceSeq = next + uint64(i)
		}
	}
	for i, ch := range b.Changes {
		if ch.GetDeviceSeq() <= hwm {
			if res.Results[i], err = previousVerdict(txn, b.DeviceID, ch.GetDeviceSeq()); err != nil {
				return nil, err
			}
			continue
		}
		if ch.GetDeviceSeq() != next {
			return nil, &SequenceError{HighWater: hwm, Got: ch.GetDeviceSeq()}
		}
		next++
		bucket, err := id16(ch.GetClientId())
		if err != nil {
			return nil, err
		}
		rec, err := id16(ch.GetRecordId())
		if err != nil {
			return nil, err
		}
		w, err := s.load(txn, records, bucket, rec)
		if err != nil {
			return nil, err
		}
		loaded[i] = w
		if w.state == nil {
			j, ok := createdIdx[w]
			if !ok {
				j = len(created)
				createdIdx[w] = j
				created = append(created, nil)
			}
			created[j] = append(created[j], i)
		}
	}
	decisions, err := b.decide(loaded, created)
	if err != nil {
		return nil, err
	}

	reject := func(i int, reason v1.RejectReason, msg string) error {
		res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: reason, Message: msg}
		return setProto(txn, rejectKey(b.DeviceID, b.Changes[i].GetDeviceSeq()),
			&v1.ChangeResult{DeviceSeq: b.Changes[i].GetDeviceSeq(), Verdict: v1.Verdict_VERDICT_REJECTED, Reason: reason, Message: msg})
	}
	for i, ch := range b.Changes {
		w := loaded[i]
		if w == nil {
			continue // pushed before
		}
		// Access first: a record out of the caller's reach must look the
		// same whether or not it exists.
		decision := decisions[i]
		if decision.Reason != v1.RejectReason_REJECT_REASON_UNSPECIFIED {
			if err := reject(i, decision.Reason, decision.Message); err != nil {
				return nil, err
			}
			continue
		}
		if w.state != nil && w.state.GetRecordType() != ch.GetRecordType() {
			if err := reject(i, v1.RejectReason_REJECT_REASON_TYPE_MISMATCH,
				fmt.Sprintf("record exists as a %s, not a %s", w.state.GetRecordType(), ch.GetRecordType())); err != nil {
				return nil, err
			}
			continue
		}
		head, ok := heads[w.bucket]
		if !ok {
			if head, err = getUint(txn, headKey(w.bucket)); err != nil {
				return nil, err
			}
		}
		pos := head + 1
		state := w.state
		if state == nil {
			state = merge.NewRecord(ch.GetRecordId(), ch.GetRecordType())
		}
		// A change can grow a record by its value twice over (the field and a
		// conflict holding it); keep a copy to undo it if it could pass the cap.
		var undo *v1.RecordState
		if w.state != nil && proto.Size(w.state)+2*proto.Size(ch)+1024 > MaxRecordBytes {
			undo = proto.Clone(w.state).(*v1.RecordState)
		}
		out := merge.Apply(state, ch, author, pos, b.ReceivedAt)
		if out.Duplicate {
			res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_DUPLICATE}
			continue
		}
		if undo != nil && proto.Size(state) > MaxRecordBytes {
			w.state = undo
			if err := reject(i, v1.RejectReason_REJECT_REASON_RECORD_TOO_LARGE,
				"the record has grown too large (usually too many open conflicts); a supervisor must resolve them"); err != nil {
				return nil, err
			}
			continue
		}
		entry := &v1.HistoryEntry{
			Position: pos, RecordId: ch.GetRecordId(), RecordType: ch.GetRecordType(), Field: ch.GetField(),
			Value: ch.GetValue(), Stamp: ch.GetStamp(), Base: ch.GetBase(), Author: author,
			DeviceSeq: ch.GetDeviceSeq(), ReceivedAt: received, Won: out.Won,
			ResolvedConflicts: out.Resolved, Late: decision.Late,
		}
		if out.Replaced != nil {
			entry.ReplacedValue, entry.ReplacedStamp = out.Replaced.GetValue(), out.Replaced.GetStamp()
		}
		if out.Conflict != nil {
			entry.ConflictId = out.Conflict.GetId()
		}
		if err := setProto(txn, logKey(w.bucket, pos), entry); err != nil {
			return nil, err
		}
		if decision.Late {
			if err := txn.Set(lateKey(w.bucket, w.record), nil); err != nil {
				return nil, err
			}
		}
		heads[w.bucket] = pos
		bucketIDs[w.bucket] = ch.GetClientId()
		w.state, w.dirty = state, true
		state.Position = pos
		res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_APPLIED, Position: pos, Late: decision.Late}
	}

	for _, w := range records {
		if !w.dirty {
			continue
		}
		if w.oldPos != 0 {
			if err := txn.Delete(stateKey(w.bucket, w.oldPos)); err != nil {
				return nil, err
			}
		}
		if err := setProto(txn, stateKey(w.bucket, w.state.Position), merge.Compact(w.state)); err != nil {
			return nil, err
		}
		if err := txn.Set(pointerKey(w.bucket, w.record), be64(w.state.Position)); err != nil {
			return nil, err
		}
	}
	for bucket, head := range heads {
		if err := txn.Set(headKey(bucket), be64(head)); err != nil {
			return nil, err
		}
		res.Heads[bucketIDs[bucket]] = head
	}
	res.HighWater = next - 1
	if res.HighWater == hwm {
		// Every change was pushed before: nothing was written.
		return res, errNothingWritten
	}
	if err := txn.Set(deviceKey(b.DeviceID), be64(res.HighWater)); err != nil {
		return nil, err
	}
	return res, nil
}

// decide is the second pass of a push: every new change is decided
// against its record as it stood before the batch, then Created sees the
// decisions, so that a record is never created from the changes that were
// allowed while its required fields were refused.
func (b *Batch) decide(loaded []*working, created [][]int) ([]Decision, error) {
	decisions := make([]Decision, len(b.Changes))
	if b.Check != nil {
		for i, ch := range b.Changes {
			if w := loaded[i]; w != nil {
				decisions[i] = b.Check(ch, w.state)
			}
		}
	}
	if b.Created != nil && len(created) > 0 {
		if err := b.Created(created, decisions); err != nil {
			return nil, err
		}
	}
	return decisions, nil
}

// previousVerdict is the verdict to report for a change the device pushed
// before: its rejection if it was rejected, otherwise duplicate.
func previousVerdict(txn *badger.Txn, device string, seq uint64) (Result, error) {
	var prev v1.ChangeResult
	found, err := getProto(txn, rejectKey(device, seq), &prev)
	if err != nil || !found {
		return Result{Verdict: v1.Verdict_VERDICT_DUPLICATE}, err
	}
	return Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: prev.GetReason(), Message: prev.GetMessage()}, nil
}

// load returns the working copy of a record, reading it on first use.
func (s *DB) load(txn *badger.Txn, records map[[32]byte]*working, bucket, rec [16]byte) (*working, error) {
	var k [32]byte
	copy(k[:16], bucket[:])
	copy(k[16:], rec[:])
	if w, ok := records[k]; ok {
		return w, nil
	}
	w := &working{bucket: bucket, record: rec}
	records[k] = w
	pos, err := getUint(txn, pointerKey(bucket, rec))
	if err != nil || pos == 0 {
		return w, err
	}
	st := &v1.RecordState{}
	found, err := getProto(txn, stateKey(bucket, pos), st)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("store: record pointer to missing state at position %d", pos)
	}
	w.state, w.oldPos = merge.Expand(st), pos
	return w, nil
}

func setProto(txn *badger.Txn, key []byte, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}
