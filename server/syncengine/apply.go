package syncengine

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Buckets is what Apply needs of the store: a transaction on the buckets.
// *store.DB is one.
type Buckets interface {
	Buckets(ctx context.Context, fn func(tx store.BucketTx) error) error
}

// Apply is the merge loop: it applies a batch in one durable transaction
// of st and returns a result per change, in batch order.
//
// A change at or below the device's high-water mark was pushed before and
// gets its original verdict (its saved rejection, or duplicate). The new
// changes must follow the high-water mark without gaps (else
// *SequenceError, nothing applied). Every new change is decided (Check,
// then Created) against its record as it stood before the batch; then each
// allowed change is merged (merge.Apply) into its record's state and gets
// the next position of its bucket's log, unless the record exists as
// another type (TYPE_MISMATCH) or would outgrow MaxRecordBytes
// (RECORD_TOO_LARGE). Refusals are saved so a resend reports them again;
// the device's high-water mark moves past the batch in the same
// transaction.
func Apply(ctx context.Context, st Buckets, b *Batch) (*PushResult, error) {
	var res *PushResult
	err := st.Buckets(ctx, func(tx store.BucketTx) error {
		a := &applier{tx: tx, b: b}
		var err error
		res, err = a.run()
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// applier is one attempt of Apply's transaction.
type applier struct {
	tx       store.BucketTx
	b        *Batch
	res      *PushResult
	author   *v1.Author
	received *timestamppb.Timestamp
	// records holds the working copy of every record the batch touches;
	// loaded is each change's record (nil for one pushed before).
	records map[recordRef]*working
	order   []*working
	loaded  []*working
	// created lists, per record the batch creates, its new changes.
	created [][]int
}

type recordRef struct{ bucket, record string }

// working is a record being changed by a push.
type working struct {
	bucket string
	state  *v1.RecordState // expanded; nil for a record not yet created
	dirty  bool
}

func (a *applier) run() (*PushResult, error) {
	b := a.b
	hwm, err := a.tx.HighWater(b.DeviceID)
	if err != nil {
		return nil, err
	}
	a.res = &PushResult{Results: make([]Result, len(b.Changes)), Heads: map[string]uint64{}, HighWater: hwm}
	a.author, a.received = &v1.Author{UserId: b.UserID, DeviceId: b.DeviceID}, timestamppb.New(b.ReceivedAt)
	next, err := a.load(hwm)
	if err != nil {
		return nil, err
	}
	if b.stamp != nil {
		states := make([]*v1.RecordState, 0, len(a.order))
		for _, w := range a.order {
			if w.state != nil {
				states = append(states, w.state)
			}
		}
		if err := b.stamp(states); err != nil {
			return nil, err
		}
	}
	decisions, err := a.decide()
	if err != nil {
		return nil, err
	}
	for i := range b.Changes {
		if a.loaded[i] != nil {
			if err := a.applyChange(i, decisions[i]); err != nil {
				return nil, err
			}
		}
	}
	if next-1 == hwm {
		return a.res, nil // every change was pushed before: nothing written
	}
	for _, w := range a.order {
		if w.dirty {
			if err := a.tx.PutRecord(w.bucket, merge.Compact(w.state)); err != nil {
				return nil, err
			}
		}
	}
	a.res.HighWater = next - 1
	if err := a.auditBatch(); err != nil {
		return nil, err
	}
	return a.res, a.tx.SetHighWater(b.DeviceID, a.res.HighWater)
}

// load is the first pass: it reports changes the device already pushed
// with their original verdicts, checks the new ones follow the high-water
// mark without gaps, and loads every record they touch, so that the
// changes and the records the batch creates can be decided before anything
// is applied. It returns the device sequence number after the batch.
// touchBuckets reads the head of every bucket the batch's new changes
// touch, in sorted order, before anything else: a store that locks a
// bucket when a transaction first touches it (PostgreSQL) then takes its
// locks in one order, so two pushes that share buckets wait for each other
// rather than deadlock. (Stores that do not lock lose nothing.)
func (a *applier) touchBuckets(hwm uint64) error {
	var buckets []string
	for _, ch := range a.b.Changes {
		if ch.GetDeviceSeq() > hwm && schema.ValidID(ch.GetClientId()) {
			buckets = append(buckets, ch.GetClientId())
		}
	}
	slices.Sort(buckets)
	for _, b := range slices.Compact(buckets) {
		if _, err := a.tx.Head(b); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) load(hwm uint64) (uint64, error) {
	b := a.b
	a.records = map[recordRef]*working{}
	a.loaded = make([]*working, len(b.Changes))
	createdIdx := map[*working]int{}
	next := hwm + 1
	if b.AssignSeq {
		for i, ch := range b.Changes {
			ch.DeviceSeq = next + uint64(i)
		}
	}
	if err := a.touchBuckets(hwm); err != nil {
		return 0, err
	}
	if err := a.prefetch(hwm); err != nil {
		return 0, err
	}
	for i, ch := range b.Changes {
		if ch.GetDeviceSeq() <= hwm {
			r, err := a.previousVerdict(ch.GetDeviceSeq())
			if err != nil {
				return 0, err
			}
			a.res.Results[i] = r
			continue
		}
		if ch.GetDeviceSeq() != next {
			return 0, &SequenceError{HighWater: hwm, Got: ch.GetDeviceSeq()}
		}
		next++
		w, err := a.record(ch.GetClientId(), ch.GetRecordId())
		if err != nil {
			return 0, err
		}
		a.loaded[i] = w
		if w.state == nil {
			j, ok := createdIdx[w]
			if !ok {
				j = len(a.created)
				createdIdx[w] = j
				a.created = append(a.created, nil)
			}
			a.created[j] = append(a.created[j], i)
		}
	}
	return next, nil
}

// record returns the working copy of a record, reading it on first use.
func (a *applier) record(bucket, record string) (*working, error) {
	ref := recordRef{bucket, record}
	if w, ok := a.records[ref]; ok {
		return w, nil
	}
	st, err := a.tx.Record(bucket, record)
	if err != nil {
		return nil, err
	}
	w := &working{bucket: bucket}
	if st != nil {
		w.state = merge.Expand(st)
	}
	a.records[ref] = w
	a.order = append(a.order, w)
	return w, nil
}

// previousVerdict is the verdict to report for a change the device pushed
// before: its rejection if it was rejected, otherwise duplicate.
func (a *applier) previousVerdict(seq uint64) (Result, error) {
	prev, err := a.tx.Rejection(a.b.DeviceID, seq)
	if err != nil || prev == nil {
		return Result{Verdict: v1.Verdict_VERDICT_DUPLICATE}, err
	}
	return Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: prev.GetReason(), Message: prev.GetMessage()}, nil
}

// decide is the second pass: every new change is decided against its
// record as it stood before the batch, then Created sees the decisions, so
// that a record is never created from the changes that were allowed while
// its required fields were refused.
func (a *applier) decide() ([]Decision, error) {
	b := a.b
	decisions := make([]Decision, len(b.Changes))
	if b.Check != nil {
		for i, ch := range b.Changes {
			if w := a.loaded[i]; w != nil {
				decisions[i] = b.Check(ch, w.state)
			}
		}
	}
	if b.Created != nil && len(a.created) > 0 {
		if err := b.Created(a.created, decisions); err != nil {
			return nil, err
		}
	}
	return decisions, nil
}

// applyChange merges change i into its record as decided, appending it to
// its bucket's log, or records its rejection.
func (a *applier) applyChange(i int, decision Decision) error {
	ch, w := a.b.Changes[i], a.loaded[i]
	// Access first: a record out of the caller's reach must look the same
	// whether or not it exists.
	if decision.Refused() {
		return a.reject(i, decision.Reason, decision.Message)
	}
	if w.state != nil && w.state.GetRecordType() != ch.GetRecordType() {
		return a.reject(i, v1.RejectReason_REJECT_REASON_TYPE_MISMATCH,
			fmt.Sprintf("record exists as a %s, not a %s", w.state.GetRecordType(), ch.GetRecordType()))
	}
	head, err := a.tx.Head(w.bucket)
	if err != nil {
		return err
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
	out := merge.Apply(state, ch, a.author, pos, a.b.ReceivedAt)
	if out.Duplicate {
		a.res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_DUPLICATE}
		return nil
	}
	if undo != nil && proto.Size(state) > MaxRecordBytes {
		w.state = undo
		return a.reject(i, v1.RejectReason_REJECT_REASON_RECORD_TOO_LARGE,
			"the record has grown too large (usually too many open conflicts); a supervisor must resolve them")
	}
	entry := &v1.HistoryEntry{
		Position: pos, RecordId: ch.GetRecordId(), RecordType: ch.GetRecordType(), Field: ch.GetField(),
		Value: ch.GetValue(), Stamp: ch.GetStamp(), Base: ch.GetBase(), Author: a.author,
		DeviceSeq: ch.GetDeviceSeq(), ReceivedAt: a.received, Won: out.Won,
		ResolvedConflicts: out.Resolved, Late: decision.Late,
	}
	if out.Replaced != nil {
		entry.ReplacedValue, entry.ReplacedStamp = out.Replaced.GetValue(), out.Replaced.GetStamp()
	}
	if out.Conflict != nil {
		entry.ConflictId = out.Conflict.GetId()
	}
	if err := a.tx.Append(w.bucket, entry); err != nil {
		return err
	}
	if decision.Late {
		if err := a.tx.MarkLate(w.bucket, ch.GetRecordId()); err != nil {
			return err
		}
	}
	a.res.Heads[w.bucket] = pos
	w.state, w.dirty = state, true
	state.Position = pos
	a.res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_APPLIED, Position: pos, Late: decision.Late,
		Conflict: out.Conflict != nil, Resolved: len(out.Resolved)}
	return nil
}

// reject records change i's rejection, for a resend to report it again.
func (a *applier) reject(i int, reason v1.RejectReason, msg string) error {
	a.res.Results[i] = Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: reason, Message: msg}
	return a.tx.PutRejection(a.b.DeviceID,
		&v1.ChangeResult{DeviceSeq: a.b.Changes[i].GetDeviceSeq(), Verdict: v1.Verdict_VERDICT_REJECTED, Reason: reason, Message: msg})
}
