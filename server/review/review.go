// Package review is the supervisors' view of what synced: the contacts their
// workers logged (the review queue), each client's full history, review
// notes, open conflicts and their resolution, outcome statistics, and the
// CSV exports of contacts and statistics. It is the domain behind
// ReviewService; package api adapts it to Connect and serves the exports.
//
// # Reach
//
// The access policy (package access) decides: only supervisors and admins
// may use it; a worker gets errkind.Forbidden before anything named in the
// request is looked at. A caller reaches the clients of their identity's
// buckets that are in their reach (a supervisor: their teams' clients; an
// admin: their area's). A client, contact, record, conflict or team outside
// that reach answers errkind.NotFound exactly as one that does not exist,
// and lists simply leave it out. Identities are resolved from the directory
// on every request (see auth.Service.Identify), and the caller's directory
// entry again for each request here (access.Resolve), so a disabled user or
// a changed role never gets further.
//
// # Reads
//
// Lists and statistics read whole buckets with Store.ScanRecords and
// pick the few fields they need straight out of the stored protobuf
// encoding (see scan.go), so that a supervisor's queue over 100,000
// contacts costs a scan, not 100,000 decodes. Only the records returned are
// decoded in full.
//
// # Writes
//
// Review notes and conflict resolutions are ordinary changes written into
// the client's bucket on the server's account: device ServerDevice, the
// caller as author, stamped by the service's hybrid logical clock after it
// has observed the stamps it builds on, so they win last-writer-wins and
// every device converges on them. They reach live streams like any push.
//
// # Exports
//
// ExportContacts and ExportStatistics hand rows to a callback one at a
// time; each export leaves a store.Audit entry (written before the first
// row leaves, completed with the row count after the last) and one log
// line, both with ids and dates only.
package review

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// ServerDevice is the device id (and HLC replica id) of the changes the
// service writes, as every server-authored change. Stamps written before
// under the replica id "server-review" still merge as they did: the
// service observes a record's stamps before stamping a change to it.
const ServerDevice = syncengine.ServerDevice

// Limits and defaults.
const (
	// DefaultPageSize and MaxPageSize bound a ListContacts page; larger
	// requests get MaxPageSize.
	DefaultPageSize = 50
	MaxPageSize     = 500
	// DefaultPeriod is the statistics period when none is given.
	DefaultPeriod = 12 * 7 * 24 * time.Hour
	// MaxPeriod is the longest statistics period.
	MaxPeriod = 3 * 366 * 24 * time.Hour
	// DefaultQuietDays is GetStatistics' no_contact_days when unset;
	// MaxQuietDays its largest value.
	DefaultQuietDays = 14
	MaxQuietDays     = 3650
)

// Store is what the review service needs of the store: the directory, and
// the buckets it reads and writes notes and resolutions to. *store.DB is
// one.
type Store interface {
	store.DirectoryStore
	bucketScanner
	// Records returns the stored states of records of a bucket.
	Records(ctx context.Context, bucket string, recordIDs []string) (map[string]*v1.RecordState, error)
	// History returns every accepted change to a record, oldest first.
	History(ctx context.Context, bucket, recordID string) ([]*v1.HistoryEntry, error)
	// LateRecords returns the ids, sorted, of a bucket's records that had
	// a change accepted as late.
	LateRecords(ctx context.Context, bucket string) ([]string, error)
	// Log returns a bucket's whole log, oldest first.
	Log(ctx context.Context, bucket string) ([]*v1.HistoryEntry, error)
	// LogEntries returns the log entries at positions of a bucket.
	LogEntries(ctx context.Context, bucket string, positions []uint64) (map[uint64]*v1.HistoryEntry, error)
	// Heads returns each bucket's head position: it moves with every
	// accepted change.
	Heads(ctx context.Context, buckets []string) (map[string]uint64, error)
}

// Config configures a Service.
type Config struct {
	// Store holds the buckets and the directory (required).
	Store Store
	// Now reads the server clock (default time.Now). It stamps the
	// service's writes and anchors default periods.
	Now func() time.Time
	// Logger records what the service does, by id only: never names,
	// comments or other personal fields.
	Logger zerolog.Logger
	// Writer writes notes and resolutions on the server's account
	// (required): the sync engine.
	Writer Writer
}

// Writer is the one door for changes the server writes on a user's
// behalf: the sync engine's WriteAudited, which numbers and stamps them
// with the server's clock and appends their audit entry in the same
// transaction. *syncengine.Engine is one.
type Writer interface {
	WriteAudited(ctx context.Context, entry *store.Audit, changes []*v1.Change, check func(*v1.Change, *v1.RecordState) syncengine.Decision) (*syncengine.PushResult, error)
}

// Service answers supervisors' review requests. It is safe for concurrent
// use.
const noteStripes = 64

type Service struct {
	st  Store
	now func() time.Time
	log zerolog.Logger
	w   Writer

	noteLocks [noteStripes]sync.Mutex // see ReviewContact
	cases     caseCache               // see GetCaseload
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Writer == nil {
		return nil, errors.New("review: a store and a writer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, now: cfg.Now, log: cfg.Logger, w: cfg.Writer}, nil
}

var errClientNF = errkind.E(errkind.NotFound, "client not found")

func invalid(format string, args ...any) error { return errkind.E(errkind.Invalid, format, args...) }

// client is a client in the caller's reach.
type client struct {
	id, team string
	created  time.Time
	// name, closed and deleted are read from the client record when its
	// bucket is scanned.
	name, given, family, status string
	closed, deleted             bool
	// born is the date of birth in days since the Unix epoch (noDay:
	// not recorded).
	born int64
	// folded is the name folded for search and sort (see names).
	folded *foldedName
	// open holds the client's open assignment periods (only for the
	// caseload: see resolveScope).
	open []*store.Assignment
}

// scope is what the caller reaches for one request.
type scope struct {
	id      *identity.Identity
	clients []*client // by id
	byID    map[string]*client
}

// resolve checks the caller's role may do a (Forbidden for workers), then
// loads the clients of their buckets that are in their reach (access.Reach)
// from the directory; with teamID set, only that team's (NotFound if the
// team is out of reach).
func (s *Service) resolve(ctx context.Context, id *identity.Identity, a access.Action, teamID string) (*scope, error) {
	return s.resolveScope(ctx, id, a, teamID, false)
}

// resolveScope is resolve; withAssignments also sets each client's open
// assignment periods, reading the area's clients and assignments in one
// pass (the caseload wants them for every client).
func (s *Service) resolveScope(ctx context.Context, id *identity.Identity, a access.Action, teamID string, withAssignments bool) (*scope, error) {
	if err := access.Allow(id, a); err != nil {
		return nil, err
	}
	sc := &scope{id: id, byID: map[string]*client{}}
	err := s.view(ctx, func(tx store.DirTx) error {
		sc.clients = nil
		clear(sc.byID)
		reach, err := access.Resolve(tx, id, a)
		if err != nil {
			return err
		}
		if teamID != "" {
			if _, err := reach.Team(tx, teamID); err != nil {
				return err
			}
		}
		cs, err := bucketClients(tx, id, withAssignments)
		if err != nil {
			return err
		}
		for _, ca := range cs {
			c := ca.Client
			if !reach.HasClient(c) || teamID != "" && c.TeamID != teamID {
				continue
			}
			cl := &client{id: c.ID, team: c.TeamID, created: c.CreatedAt, open: ca.Open}
			sc.clients = append(sc.clients, cl)
			sc.byID[cl.id] = cl
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(sc.clients, func(a, b *client) int { return strings.Compare(a.id, b.id) })
	return sc, nil
}

// bucketClients returns the directory entries of the caller's buckets;
// withAssignments, with their open assignment periods, read from the
// area's in one pass.
func bucketClients(tx store.DirTx, id *identity.Identity, withAssignments bool) ([]*store.ClientAssignments, error) {
	if withAssignments {
		all, err := tx.ClientsWithAssignments(id.Area)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(all, func(ca *store.ClientAssignments) bool { return !id.HasBucket(ca.Client.ID) }), nil
	}
	out := make([]*store.ClientAssignments, 0, len(id.Buckets))
	for _, cid := range id.Buckets {
		c, err := tx.Client(cid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, &store.ClientAssignments{Client: c})
	}
	return out, nil
}

// client returns a client in reach, or NotFound.
func (sc *scope) client(clientID string) (*client, error) {
	if c := sc.byID[clientID]; c != nil {
		return c, nil
	}
	return nil, errClientNF
}

// view runs fn in a read-only directory transaction.
func (s *Service) view(ctx context.Context, fn func(tx store.DirTx) error) error {
	return storeErr(s.st.DirectoryView(ctx, fn))
}

// storeErr keeps domain and context errors as they are and wraps anything
// else; the API maps store.ErrUnavailable and hides the rest.
func storeErr(err error) error {
	if err == nil || errkind.Of(err) != 0 || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("review: %w", err)
}

// names returns the display names of the users among ids who belong to
// area; others (unknown, another area's, the empty id) are left out.
func (s *Service) names(ctx context.Context, area string, ids map[string]bool) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	err := s.view(ctx, func(tx store.DirTx) error {
		for uid := range ids {
			if uid == "" {
				continue
			}
			u, err := tx.User(uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if u.AreaID == area {
				out[uid] = u.DisplayName
			}
		}
		return nil
	})
	return out, err
}

// people lists names by user id.
func people(names map[string]string) []*v1.Person {
	out := make([]*v1.Person, 0, len(names))
	for uid, n := range names {
		out = append(out, &v1.Person{UserId: uid, DisplayName: n})
	}
	slices.SortFunc(out, func(a, b *v1.Person) int { return strings.Compare(a.GetUserId(), b.GetUserId()) })
	return out
}

// teamNames returns the names of teams in area.
func (s *Service) teamNames(ctx context.Context, area string, ids map[string]bool) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	err := s.view(ctx, func(tx store.DirTx) error {
		for tid := range ids {
			t, err := tx.Team(tid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if t.AreaID == area {
				out[tid] = t.Name
			}
		}
		return nil
	})
	return out, err
}

// period resolves a requested period: to defaults to now, from to
// DefaultPeriod before to; from must be before to.
func (s *Service) period(from, to time.Time) (time.Time, time.Time, error) {
	if to.IsZero() {
		to = s.now()
	}
	if from.IsZero() {
		from = to.Add(-DefaultPeriod)
	}
	if !from.Before(to) {
		return from, to, invalid("from must be before to")
	}
	return from.UTC(), to.UTC(), nil
}
