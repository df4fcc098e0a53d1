// Package store keeps Throughcare's durable state: every bucket's log of
// accepted changes, the compacted current state of every record, each
// device's high-water mark, and the directory (users, devices, sessions,
// invites, clients, assignments, audit). It is the only package that
// touches Badger. It persists and reads; it decides nothing: the merge loop
// that decides what a push writes is the sync engine's (syncengine.Apply),
// and the rules of who may do what live above it.
//
// # Guarantees
//
// A bucket transaction (Buckets, BucketTx) is applied whole and is durable
// when Buckets returns: a crash afterwards loses none of it, and a crash
// before leaves none of it. Each log entry takes the next position in its
// bucket's log; positions are monotonic and never reused. The engine writes
// a push's changes, its rejections and the device's high-water mark in one
// such transaction, so a resent change is recognised as a duplicate.
//
// # Encryption at rest
//
// Given a master key (Options.EncryptionKey, from package storekey), a new
// store is encrypted with Badger's own encryption, and an existing one
// opens only with the key it was encrypted with (encryption.go); Encrypt
// migrates a store that is not encrypted, RotateKey changes the master key.
//
// # Key layout
//
// Keys start with a one-byte table prefix; ids are 16-byte UUIDs and numbers
// are big-endian, so byte order is log order.
//
//	0x00 "cursor-key"              → 32 random bytes sealing sync cursors
//	0x00 "format"                  → store format version (uint64)
//	0x00 "commit"                  → number of the last write transaction
//	                                 (uint64; every one writes it)
//	0x00 "ack-record"              → 1: the store keeps an acknowledgement
//	                                 record (the ACKNOWLEDGED file)
//	0x00 "data-loss" time(8)       → AcceptedLoss (JSON): an open that went
//	                                 on despite damage
//	0x01 bucket(16) pos(8)         → HistoryEntry: the bucket log (full history)
//	0x02 bucket(16) record(16)     → pos(8): where the record's state lives
//	0x03 bucket(16) pos(8)         → RecordState (compacted), keyed by the
//	                                 position of the record's last change, so
//	                                 "changed since p" is one range scan
//	0x04 bucket(16)                → head position (uint64)
//	0x05 device id                 → device high-water mark (uint64)
//	0x06 len(1) device id seq(8)   → ChangeResult of a rejected change, so a
//	                                 resend reports the same rejection
//	0x07 bucket(16) record(16)     → (empty): the record has a change that was
//	                                 accepted as late (Decision.Late)
//	0x08 len(1) device id bucket(16)
//	                               → end of access (Unix ns, uint64) whose
//	                                 eviction the device was last sent
//
// Values are protobuf (throughcare.v1 messages). A record's state is capped
// by the engine (syncengine.MaxRecordBytes, 256 KiB), so values stay well
// under Badger's value threshold and live in the LSM tree
// and the write-ahead log. The stored RecordState and HistoryEntry are the
// wire messages themselves, so pulls send stored bytes without re-encoding;
// the proto's additive-only evolution (buf breaking checks) protects both.
//
// # Damage
//
// Beside Badger's files the data directory holds ACKNOWLEDGED, the number
// of the last commit acknowledged, written after Badger has synced it and
// before the write is acknowledged. Open compares it with the number Badger
// replayed, and checks the MANIFEST, the tables and the write-ahead logs
// before Badger opens them (Badger would delete tables its MANIFEST does
// not list, drop what follows damage in a log, or panic on a damaged
// table). Damage is refused with a *DamageError and never served; a
// directory that held a store is never taken for a new one. With
// Options.AcceptDataLoss, damage that leaves a store opens, replaces the
// cursor key and is recorded.
//
// # Restores
//
// A device whose cursor is past a bucket's head is told to reset
// (CursorAheadError). That alone cannot catch a restored store whose logs
// have since grown past the device's positions again, so restoring a backup
// must also replace the cursor key: every cursor issued before then becomes
// invalid and every device re-syncs.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Store is the sync data a backend keeps: bucket transactions, pulls and
// reads of records, logs and history, and the devices' evictions. Its
// users each declare the part they need (syncengine.Store, admin.Store,
// review.Store). Every implementation must pass the conformance suite in
// package storetest.
type Store interface {
	// Buckets runs fn in one atomic, durable transaction on the buckets
	// (see BucketTx and DB.Buckets); the sync engine's merge loop writes
	// through it.
	Buckets(ctx context.Context, fn func(tx BucketTx) error) error
	// Pull returns records changed after the given positions, bucket by bucket
	// in id order, stopping at the query's limits.
	Pull(ctx context.Context, q PullQuery) (*PullPage, error)
	// Records returns the current expanded states of the given records of a
	// bucket; records that do not exist are absent from the map.
	Records(ctx context.Context, bucket string, recordIDs []string) (map[string]*v1.RecordState, error)
	// ClientRecords returns the client record of each of the given
	// clients' buckets (the record whose id is the bucket's), expanded as
	// Records returns them, in one read; a client whose record is not
	// written yet is absent from the map.
	ClientRecords(ctx context.Context, clientIDs []string) (map[string]*v1.RecordState, error)
	// History returns every accepted change to a record, oldest first.
	History(ctx context.Context, bucket, recordID string) ([]*v1.HistoryEntry, error)
	// Heads returns the head position of each bucket (0 for an empty one).
	Heads(ctx context.Context, buckets []string) (map[string]uint64, error)
	// HighWater returns a device's high-water mark (0 if it never pushed).
	HighWater(ctx context.Context, deviceID string) (uint64, error)
	// ScanRecords calls fn with the current state of every record of the
	// given buckets, bucket by bucket in the order given and each bucket's
	// records in log order, as its protobuf encoding (a compacted
	// RecordState, as Pull returns it). The bytes are only valid during the
	// call. It stops at fn's first error and returns it. An unknown bucket
	// has no records.
	ScanRecords(ctx context.Context, buckets []string, fn func(bucket string, state []byte) error) error
	// LateRecords returns the ids of a bucket's records that had a change
	// accepted as late (Decision.Late), sorted.
	LateRecords(ctx context.Context, bucket string) ([]string, error)
	// Log returns every entry of a bucket's log, oldest first.
	Log(ctx context.Context, bucket string) ([]*v1.HistoryEntry, error)
	// LogEntries returns a bucket's log entries at the given positions;
	// positions without an entry are absent from the map.
	LogEntries(ctx context.Context, bucket string, positions []uint64) (map[uint64]*v1.HistoryEntry, error)
	// Watch calls fn after every committed push that changed buckets, with
	// their new heads, whoever wrote it (devices, or the server on its own
	// account). fn runs on the pusher's goroutine after the commit, so it
	// must be quick and must not call back into the store. The returned
	// function stops the calls.
	Watch(fn func(heads map[string]uint64)) (stop func())
	// NoteEvictions records durably, before the eviction reaches the device,
	// that the device is being sent the eviction of buckets, each with the
	// end of the caller's access it follows; the latest end per bucket is
	// kept.
	NoteEvictions(ctx context.Context, deviceID string, ended map[string]time.Time) error
	// Evictions returns, for those of the given buckets whose eviction the
	// device has been sent, the latest end of access noted with it.
	Evictions(ctx context.Context, deviceID string, buckets []string) (map[string]time.Time, error)
	// CursorKey returns the secret that seals this store's sync cursors.
	CursorKey() []byte
	// Close flushes and closes the store.
	Close() error
}

// PullQuery asks for records changed after a position in each bucket.
type PullQuery struct {
	// From maps each bucket to read to the position already read (0: all).
	From map[string]uint64
	// Limit is the most records to return (at least 1).
	Limit int
	// MaxBytes stops the page before a record that would take the records'
	// encoded size past it; a page holds at least one record (0: no limit).
	MaxBytes int
}

// BucketPage is one bucket's part of a page.
type BucketPage struct {
	// Bucket is the bucket (client) id.
	Bucket string
	// Records are compacted record states in log order, each as its
	// protobuf encoding (a throughcare.v1.RecordState), exactly as stored:
	// a pull can send them on without decoding them.
	Records [][]byte
	// Position is where the reader now stands in the bucket's log.
	Position uint64
}

// PullPage is one page of a pull.
type PullPage struct {
	// Buckets lists the buckets read, in id order; a bucket with no news
	// appears with no records.
	Buckets []BucketPage
	// HasMore is set when the page stopped at a limit.
	HasMore bool
}

// ErrClosed reports use of a closed store.
var ErrClosed = errors.New("store: closed")

// ErrUnavailable reports a store that cannot take writes now (for example
// it kept losing races with concurrent pushes); the caller may retry later.
var ErrUnavailable = errors.New("store: unavailable")

// ErrBatchTooLarge reports a batch too large for one transaction. Retrying
// it cannot succeed; the device must split it.
var ErrBatchTooLarge = errors.New("store: batch too large for one transaction; split it")

// CursorAheadError reports a read position past a bucket's head: the cursor
// came from a newer state of the store than this one (for example before a
// restore from backup).
type CursorAheadError struct {
	Bucket     string
	From, Head uint64
}

func (e *CursorAheadError) Error() string {
	return fmt.Sprintf("store: position %d is past head %d of a bucket", e.From, e.Head)
}
