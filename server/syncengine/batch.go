package syncengine

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Batch is one device's push, already validated against the schema, as
// Apply applies it.
type Batch struct {
	// UserID and DeviceID identify the author of every change.
	UserID, DeviceID string
	// ReceivedAt is the server time the batch arrived.
	ReceivedAt time.Time
	// Changes are in strictly increasing device sequence order.
	Changes []*v1.Change
	// Check, if set, is called inside the transaction for each change that
	// is not a duplicate, before any change is applied, with the record's
	// expanded state as it stood before the batch (nil for a record the
	// batch creates). It must not modify the state. A decision with a
	// reject reason refuses that change only; one with Late set applies it
	// flagged as late work. It may be called again if the transaction is
	// retried.
	Check func(ch *v1.Change, current *v1.RecordState) Decision
	// AssignSeq numbers the changes itself, following the device's
	// high-water mark (for changes the server writes on its own account).
	AssignSeq bool
	// Created, if set, is called inside the transaction after Check has
	// decided every change and before anything is applied, with one entry
	// per record the batch creates (the indexes of the batch's new, not
	// duplicate, changes to it) and Check's decisions, indexed like
	// Changes. It may change decisions (for example refuse every change of
	// a record whose required field was refused); the changes are then
	// applied as decisions says. A non-nil error aborts the whole batch and
	// Apply returns it unchanged.
	Created func(records [][]int, decisions []Decision) error
	// Audit, if set, is the audit entry of the batch: when at least one of
	// its changes is applied, Apply appends a copy to the audit trail in the
	// batch's transaction, with the buckets changed as its ClientIDs
	// (unless set) and the changes applied as its Count (see auditBatch).
	Audit *store.Audit

	// stamp, if set, stamps every new change inside the transaction, after
	// the records they touch are loaded (WriteAs).
	stamp func(loaded []*v1.RecordState) error
}

// Decision is Check's verdict on one change. The zero Decision applies it.
// It is the access policy's verdict type: a push's changes are decided by
// access.Push, and a server write's check answers in the same terms.
type Decision = access.Decision

// Result is the outcome of one change of a batch.
type Result struct {
	Verdict  v1.Verdict
	Reason   v1.RejectReason
	Message  string
	Position uint64
	Late     bool
	// Conflict says the change raised a conflict; Resolved is how many
	// open conflicts it resolved.
	Conflict bool
	Resolved int
}

// PushResult holds the outcome of a batch.
type PushResult struct {
	// Results has one entry per change, in batch order.
	Results []Result
	// Heads holds the new head position of every bucket the batch changed.
	Heads map[string]uint64
	// HighWater is the device's high-water mark after the batch.
	HighWater uint64
}

// MaxRecordBytes is the largest encoded state a record may reach: a change
// that would grow it further is rejected (REJECT_REASON_RECORD_TOO_LARGE).
// It keeps stored values well under the store's value threshold.
const MaxRecordBytes = 256 << 10

// SequenceError reports a batch whose first new change does not follow the
// device's high-water mark. Nothing was applied.
type SequenceError struct {
	HighWater, Got uint64
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("syncengine: device_seq %d does not follow the device's high-water mark %d", e.Got, e.HighWater)
}

// auditBatch appends the batch's audit entry if it has one and applied at
// least one change: one entry per batch, never one per change.
func (a *applier) auditBatch() error {
	if a.b.Audit == nil {
		return nil
	}
	applied := 0
	for _, r := range a.res.Results {
		if r.Verdict == v1.Verdict_VERDICT_APPLIED {
			applied++
		}
	}
	if applied == 0 {
		return nil
	}
	e := *a.b.Audit
	if e.ClientIDs == nil {
		e.ClientIDs = slices.Sorted(maps.Keys(a.res.Heads))
	}
	e.Count = uint64(applied)
	return a.tx.AppendAudit(&e)
}
