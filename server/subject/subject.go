// Package subject owns what the server does for one data subject (a
// client) as a whole, under UK GDPR: the subject access export, which
// writes everything held about a client as one readable archive, and
// retention, which purges clients whose case has been closed longer than
// their area's retention period, leaving a tombstone so that their devices
// evict them and their id is never used again. It is the domain behind
// AdminService's ExportSubject and SetRetention; package api adapts it to
// Connect.
//
// # Subject access
//
// Export (admins, in their own area; another area's client is NotFound,
// as the access policy says) writes a zip archive: summary.md, a readable
// account of who the client is, what the archive holds and over which
// dates; client.json, the directory entry and the current client record;
// records/<type>.json, the current state of every record of each type
// (contacts, goals, referrals, review notes); history.json, every change
// ever accepted in the client's bucket, with who made it, when and what
// it replaced; conflicts.json, the conflicts raised and their resolutions;
// assignments.json, who was assigned to the client when; and audit.json,
// the audit entries about the client. The export is itself audited
// before any of it leaves (see audit.go).
//
// # Retention
//
// A client is purged when their record's status is "closed" and the last
// change to their bucket (the closing, or anything after it) was received
// longer ago than their area's retention: the area's own setting
// (SetRetention) or else the server's default (Config.Retention); zero
// keeps clients for ever. Sweep checks every area once; Run sweeps at
// every tick of a ticker the caller owns. Each client is purged on its own
// (store.DB.PurgeClient: the directory entry, assignments and bucket go,
// a tombstone and the purge's audit entry stay, in one transaction when
// the bucket fits in one), only if the bucket has not moved since it was
// checked, and a purge a crash interrupted is finished by the next sweep.
// The users who held the client are told their caseload changed, so their
// streams close and their devices' next pull evicts the bucket.
package subject

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Store is what the package needs of the store. *store.DB is one.
type Store interface {
	store.DirectoryStore
	// ScanRecords calls fn with the current state of every record of the
	// buckets.
	ScanRecords(ctx context.Context, buckets []string, fn func(bucket string, state []byte) error) error
	// Records returns current expanded states of records of a bucket.
	Records(ctx context.Context, bucket string, recordIDs []string) (map[string]*v1.RecordState, error)
	// Log returns every entry of a bucket's log, oldest first.
	Log(ctx context.Context, bucket string) ([]*v1.HistoryEntry, error)
	// Heads returns the head position of each bucket.
	Heads(ctx context.Context, buckets []string) (map[string]uint64, error)
	// LogEntries returns a bucket's log entries at the given positions.
	LogEntries(ctx context.Context, bucket string, positions []uint64) (map[uint64]*v1.HistoryEntry, error)
	// PurgeClient purges a client whose bucket is still at head.
	PurgeClient(ctx context.Context, clientID string, head uint64, at time.Time, audit *store.Audit) error
	// FinishPurges completes interrupted purges.
	FinishPurges(ctx context.Context) ([]string, error)
}

// Sessions is told when users lose a purged client (package auth).
type Sessions interface {
	// CaseloadChanged closes these users' streams so their devices pull
	// their new caseload.
	CaseloadChanged(userIDs ...string)
}

// Config configures a Service.
type Config struct {
	// Store holds the data (required).
	Store Store
	// Sessions learns of caseload changes (required).
	Sessions Sessions
	// Now is the server clock (default time.Now).
	Now func() time.Time
	// Retention is how long a closed client is kept in areas without a
	// retention of their own (0: for ever).
	Retention time.Duration
	// Logger records what the service does, by id only.
	Logger zerolog.Logger
	// Purged, if set, is told each client purged, once the purge is
	// committed, so that what keeps copies in memory (the caseload view's
	// summaries, with the client's name) lets them go.
	Purged func(clientID string)
}

// Service exports and purges clients. It is safe for concurrent use.
type Service struct {
	st        Store
	sessions  Sessions
	now       func() time.Time
	retention time.Duration
	log       zerolog.Logger
	purged    func(clientID string)
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sessions == nil {
		return nil, errors.New("subject: store and sessions are required")
	}
	if cfg.Retention < 0 {
		return nil, errors.New("subject: the retention must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Purged == nil {
		cfg.Purged = func(string) {}
	}
	return &Service{st: cfg.Store, sessions: cfg.Sessions, now: cfg.Now, retention: cfg.Retention, log: cfg.Logger, purged: cfg.Purged}, nil
}

// storeErr keeps domain and context errors and wraps anything else.
func storeErr(err error) error {
	if err == nil || errkind.Of(err) != 0 || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("subject: %w", err)
}
