package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// BucketTx is one transaction on the buckets: their logs, the compacted
// states of their records, their heads, the late index, and each device's
// high-water mark and rejected changes. It only persists: the merge loop
// that decides what to write is the sync engine's (syncengine.Apply). A
// backend implements it with the record pointers and heads kept
// consistent inside the transaction; storetest.Run is its contract. Ids
// are canonical lower-case UUIDs (bucket and record ids) or 1 to 255 bytes
// (device ids); anything else is an error.
type BucketTx interface {
	// HighWater returns a device's high-water mark (0 if it never pushed).
	HighWater(device string) (uint64, error)

	// SetHighWater stores a device's high-water mark.
	SetHighWater(device string, hwm uint64) error

	// Rejection returns the saved result of a device's rejected change, or
	// nil if that change was not rejected.
	Rejection(device string, seq uint64) (*v1.ChangeResult, error)

	// PutRejection saves the result of a device's rejected change (its
	// DeviceSeq names the change), for a resend to report it again.
	PutRejection(device string, r *v1.ChangeResult) error

	// Record returns a record's state as stored (compacted), or nil if the
	// record does not exist. The caller owns the message.
	Record(bucket, record string) (*v1.RecordState, error)

	// PutRecord stores a record's compacted state as of its last change
	// (st.Position), replacing its previous state.
	PutRecord(bucket string, st *v1.RecordState) error

	// Head returns a bucket's head position (0 for an empty bucket),
	// including entries appended in this transaction.
	Head(bucket string) (uint64, error)

	// Append adds an entry to a bucket's log at e.Position, which must be
	// the bucket's head plus one, and makes it the head.
	Append(bucket string, e *v1.HistoryEntry) error

	// MarkLate records that a record had a change accepted as late work
	// (see LateRecords).
	MarkLate(bucket, record string) error

	// AppendAudit appends an entry to its area's audit chain, committed
	// with the transaction: the operation and its entry are kept together
	// or not at all. The entry's Seq and Prev are given when it is sealed
	// into the chain after the commit (see DB.Directory); a directory
	// transaction begun after the operation returned reads it sealed. A
	// zero At is the store's clock. An area and a known action are
	// required.
	AppendAudit(a *Audit) error
}

// Buckets runs fn in a read-write transaction on the buckets, committed
// durably when fn returns nil (and only if it wrote something), and
// retried a bounded number of times if it conflicts with a concurrent one,
// so fn must not have other side effects. Nothing fn wrote survives its
// error. After the commit, watchers (Watch) get the new heads of the
// buckets it appended to. A transaction too large for the store fails with
// ErrBatchTooLarge.
func (s *DB) Buckets(ctx context.Context, fn func(tx BucketTx) error) error {
	var heads map[string]uint64
	audited := false
	err := s.retry(ctx, func(txn *badger.Txn) error {
		tx := &badgerBucketTx{txn: txn, now: s.now, floor: &s.audit.floor}
		audited = false
		if err := fn(tx); err != nil {
			return err
		}
		if !tx.wrote {
			return errNothingWritten // nothing to commit or sync
		}
		audited = tx.audited
		var err error
		heads, err = tx.writeHeads()
		return err
	})
	if err != nil {
		return err
	}
	if audited {
		s.afterAudited(ctx, false)
	}
	if len(heads) > 0 {
		s.watchers.Notify(heads)
	}
	return nil
}

// badgerBucketTx is BucketTx over a Badger transaction. Heads are kept in
// memory and written once per bucket when fn is done; pointers read by
// Record are remembered so PutRecord can drop the state they point to.
type badgerBucketTx struct {
	txn     *badger.Txn
	now     func() time.Time // the store's clock
	wrote   bool
	audited bool // an audit entry was appended
	floor   *pendingFloor
	heads   map[[16]byte]bucketHead
	// oldPos is, for each record read or written in this transaction, the
	// position its stored state is keyed by (0: none).
	oldPos map[[32]byte]uint64
}

type bucketHead struct {
	id  string
	pos uint64
}

func deviceID(device string) error {
	if len(device) == 0 || len(device) > 255 {
		return errors.New("store: device id must be 1 to 255 bytes")
	}
	return nil
}

func recordKey(bucket, record [16]byte) [32]byte {
	var k [32]byte
	copy(k[:16], bucket[:])
	copy(k[16:], record[:])
	return k
}

func (tx *badgerBucketTx) HighWater(device string) (uint64, error) {
	if err := deviceID(device); err != nil {
		return 0, err
	}
	return getUint(tx.txn, deviceKey(device))
}

func (tx *badgerBucketTx) SetHighWater(device string, hwm uint64) error {
	if err := deviceID(device); err != nil {
		return err
	}
	tx.wrote = true
	return tx.txn.Set(deviceKey(device), be64(hwm))
}

func (tx *badgerBucketTx) Rejection(device string, seq uint64) (*v1.ChangeResult, error) {
	if err := deviceID(device); err != nil {
		return nil, err
	}
	var r v1.ChangeResult
	found, err := getProto(tx.txn, rejectKey(device, seq), &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

func (tx *badgerBucketTx) PutRejection(device string, r *v1.ChangeResult) error {
	if err := deviceID(device); err != nil {
		return err
	}
	tx.wrote = true
	return setProto(tx.txn, rejectKey(device, r.GetDeviceSeq()), r)
}

func (tx *badgerBucketTx) Record(bucket, record string) (*v1.RecordState, error) {
	b, r, err := ids(bucket, record)
	if err != nil {
		return nil, err
	}
	pos, err := tx.pointer(b, r)
	if err != nil || pos == 0 {
		return nil, err
	}
	st := &v1.RecordState{}
	found, err := getProto(tx.txn, stateKey(b, pos), st)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("store: record pointer to missing state at position %d", pos)
	}
	return st, nil
}

// pointer returns the position a record's state is keyed by (0: none),
// reading it once per transaction.
func (tx *badgerBucketTx) pointer(b, r [16]byte) (uint64, error) {
	k := recordKey(b, r)
	if pos, ok := tx.oldPos[k]; ok {
		return pos, nil
	}
	pos, err := getUint(tx.txn, pointerKey(b, r))
	if err != nil {
		return 0, err
	}
	if tx.oldPos == nil {
		tx.oldPos = map[[32]byte]uint64{}
	}
	tx.oldPos[k] = pos
	return pos, nil
}

func (tx *badgerBucketTx) PutRecord(bucket string, st *v1.RecordState) error {
	b, r, err := ids(bucket, st.GetRecordId())
	if err != nil {
		return err
	}
	if st.GetPosition() == 0 {
		return errors.New("store: a record state needs the position of its last change")
	}
	old, err := tx.pointer(b, r)
	if err != nil {
		return err
	}
	tx.wrote = true
	if old != 0 && old != st.GetPosition() {
		if err := tx.txn.Delete(stateKey(b, old)); err != nil {
			return err
		}
	}
	if err := setProto(tx.txn, stateKey(b, st.GetPosition()), st); err != nil {
		return err
	}
	tx.oldPos[recordKey(b, r)] = st.GetPosition()
	return tx.txn.Set(pointerKey(b, r), be64(st.GetPosition()))
}

func (tx *badgerBucketTx) Head(bucket string) (uint64, error) {
	b, err := id16(bucket)
	if err != nil {
		return 0, err
	}
	return tx.head(b)
}

func (tx *badgerBucketTx) head(b [16]byte) (uint64, error) {
	if h, ok := tx.heads[b]; ok {
		return h.pos, nil
	}
	return getUint(tx.txn, headKey(b))
}

func (tx *badgerBucketTx) Append(bucket string, e *v1.HistoryEntry) error {
	b, err := id16(bucket)
	if err != nil {
		return err
	}
	head, err := tx.head(b)
	if err != nil {
		return err
	}
	if e.GetPosition() != head+1 {
		return fmt.Errorf("store: log entry at position %d does not follow the bucket's head %d", e.GetPosition(), head)
	}
	if _, seen := tx.heads[b]; !seen {
		// Read once per bucket and transaction: a purge committed since
		// the caller decided conflicts with this transaction (see purge.go).
		if purged, err := purgedBucket(tx.txn, bucket); err != nil || purged {
			return cmp.Or(err, ErrPurged)
		}
	}
	tx.wrote = true
	if err := setProto(tx.txn, logKey(b, e.GetPosition()), e); err != nil {
		return err
	}
	if tx.heads == nil {
		tx.heads = map[[16]byte]bucketHead{}
	}
	tx.heads[b] = bucketHead{id: bucket, pos: e.GetPosition()}
	return nil
}

func (tx *badgerBucketTx) MarkLate(bucket, record string) error {
	b, r, err := ids(bucket, record)
	if err != nil {
		return err
	}
	tx.wrote = true
	return tx.txn.Set(lateKey(b, r), nil)
}

// writeHeads stores the head of every bucket appended to and returns them
// by bucket id.
func (tx *badgerBucketTx) writeHeads() (map[string]uint64, error) {
	out := make(map[string]uint64, len(tx.heads))
	for b, h := range tx.heads {
		if err := tx.txn.Set(headKey(b), be64(h.pos)); err != nil {
			return nil, err
		}
		out[h.id] = h.pos
	}
	return out, nil
}

func ids(bucket, record string) (b, r [16]byte, err error) {
	if b, err = id16(bucket); err != nil {
		return b, r, err
	}
	r, err = id16(record)
	return b, r, err
}

func setProto(txn *badger.Txn, key []byte, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}
