package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/store"
)

// The directory (store.DirectoryStore): areas, teams, users, devices,
// sessions, ceremonies, invites, clients, assignments and the audit trail,
// in the tables of migrations/0002_directory.sql. Each entity is stored as
// package store's JSON of it, beside the columns it is looked up by, so a
// row and its lookups are one row and cannot disagree.
//
// A read-write transaction (Directory) is SERIALIZABLE: two transactions
// that read and write the same entries (two refreshes of one session, say)
// cannot both commit; the loser is run again, as the Badger store runs a
// transaction that conflicts. Expiry (ceremonies, invites) is decided
// against the store's clock (Options.Now), read when the transaction
// begins.

var _ store.DirectoryStore = (*DB)(nil)

// Directory implements store.DirectoryStore: fn runs in a serializable
// transaction, committed if it returns nil and run again (a bounded number
// of times) if it fails to serialise with a concurrent one. The audit
// entries it appended are sealed into their chains before it returns, and
// before it begins those other operations left pending (see
// auditchain.go).
func (s *DB) Directory(ctx context.Context, fn func(tx store.DirTx) error) error {
	s.sealBehind(ctx)
	backoff := time.Millisecond
	for range maxRetries {
		if err := s.check(); err != nil {
			return err
		}
		now := s.now()
		audited, err := s.directoryOnce(ctx, now, fn)
		if retryable(err) {
			if err := pause(ctx, backoff/2+mrand.N(backoff)); err != nil { // lost a race with another transaction
				return err
			}
			backoff = min(2*backoff, 100*time.Millisecond)
			continue
		}
		if err != nil {
			return s.mapErr(err)
		}
		if audited {
			s.afterAudited(ctx, true)
		}
		s.sweepExpired(ctx, now)
		return nil
	}
	return fmt.Errorf("pgstore: gave up after %d conflicting directory attempts: %w", maxRetries, store.ErrUnavailable)
}

func (s *DB) directoryOnce(ctx context.Context, now time.Time, fn func(tx store.DirTx) error) (audited bool, err error) {
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return false, err
	}
	defer func() { _ = pgtx.Rollback(ctx) }() // after Commit, a no-op
	tx := &dirTx{ctx: ctx, tx: pgtx, now: now, origin: s.listener.origin}
	if err := fn(tx); err != nil {
		return false, err
	}
	if tx.err != nil {
		return false, tx.err
	}
	return tx.audited, pgtx.Commit(ctx)
}

// DirectoryView implements store.DirectoryStore: fn runs in a read-only
// transaction on one snapshot, after the audit entries pending are sealed.
func (s *DB) DirectoryView(ctx context.Context, fn func(tx store.DirTx) error) error {
	s.sealBehind(ctx)
	return s.read(ctx, func(pgtx pgx.Tx) error {
		tx := &dirTx{ctx: ctx, tx: pgtx, now: s.now()}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.err
	})
}

// dirTx is store.DirTx over a PostgreSQL transaction. Its methods may only
// be used inside the function given to Directory or DirectoryView.
type dirTx struct {
	ctx     context.Context
	tx      pgx.Tx
	now     time.Time // the store's clock when the transaction began
	err     error     // the first error of a method that cannot return one (the lists of ids)
	audited bool      // an audit entry was appended: seal after the commit
	origin  string    // the DB's origin in announcements (relay.go)
}

var _ store.DirTx = (*dirTx)(nil)

// nullable is b, or NULL if it is empty.
func nullable(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonNull is b as a non-NULL bytea (empty if b is nil).
func nonNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// get reads one row's doc into v (ErrNotFound if there is none).
func (tx *dirTx) get(v any, query string, args ...any) error {
	var doc []byte
	err := tx.tx.QueryRow(tx.ctx, query, args...).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(doc, v)
}

// docs reads and decodes every row's doc.
func docs[T any](tx *dirTx, query string, args ...any) ([]*T, error) {
	rows, err := tx.tx.Query(tx.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*T, error) {
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return nil, err
		}
		v := new(T)
		return v, json.Unmarshal(doc, v)
	})
}

// exec runs a statement that writes.
func (tx *dirTx) exec(query string, args ...any) error {
	_, err := tx.tx.Exec(tx.ctx, query, args...)
	return err
}

// put stores v's JSON as the doc ($1) of the statement's row.
func (tx *dirTx) put(v any, query string, args ...any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.exec(query, append([]any{doc}, args...)...)
}

// ids returns the one bytea column of the query's rows as strings. An
// error is kept for the transaction to return (the DirTx lists return
// none).
func (tx *dirTx) ids(query string, args ...any) []string {
	rows, err := tx.tx.Query(tx.ctx, query, args...)
	if err == nil {
		var out []string
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var b []byte
			err := r.Scan(&b)
			return string(b), err
		})
		if err == nil {
			return out
		}
	}
	if tx.err == nil {
		tx.err = err
	}
	return nil
}

// Area implements store.DirTx.
func (tx *dirTx) Area(id string) (*store.Area, error) {
	var a store.Area
	return &a, tx.get(&a, "SELECT doc FROM areas WHERE id = $1", []byte(id))
}

// PutArea implements store.DirTx.
func (tx *dirTx) PutArea(a *store.Area) error {
	return tx.put(a, "INSERT INTO areas (doc, id) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc", []byte(a.ID))
}

// Areas implements store.DirTx.
func (tx *dirTx) Areas() ([]*store.Area, error) {
	return docs[store.Area](tx, "SELECT doc FROM areas ORDER BY id")
}

// Team implements store.DirTx.
func (tx *dirTx) Team(id string) (*store.Team, error) {
	var t store.Team
	return &t, tx.get(&t, "SELECT doc FROM teams WHERE id = $1", []byte(id))
}

// PutTeam implements store.DirTx.
func (tx *dirTx) PutTeam(t *store.Team) error {
	return tx.put(t, `INSERT INTO teams (doc, id, area) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, area = excluded.area`, []byte(t.ID), []byte(t.AreaID))
}

// TeamsOfArea implements store.DirTx.
func (tx *dirTx) TeamsOfArea(area string) []string {
	return tx.ids("SELECT id FROM teams WHERE area = $1 ORDER BY id", []byte(area))
}

// User implements store.DirTx.
func (tx *dirTx) User(id string) (*store.User, error) {
	var u store.User
	return &u, tx.get(&u, "SELECT doc FROM users WHERE id = $1", []byte(id))
}

// UserByHandle implements store.DirTx.
func (tx *dirTx) UserByHandle(handle []byte) (*store.User, error) {
	var u store.User
	return &u, tx.get(&u, "SELECT u.doc FROM user_handles h JOIN users u ON u.id = h.user_id WHERE h.handle = $1", nonNull(handle))
}

// PutUser implements store.DirTx.
func (tx *dirTx) PutUser(u *store.User) error {
	if err := tx.put(u, `INSERT INTO users (doc, id, area) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, area = excluded.area`, []byte(u.ID), []byte(u.AreaID)); err != nil {
		return err
	}
	return tx.exec(`INSERT INTO user_handles (handle, user_id) VALUES ($1, $2)
		ON CONFLICT (handle) DO UPDATE SET user_id = excluded.user_id`, nonNull(u.Handle), []byte(u.ID))
}

// UsersOfArea implements store.DirTx.
func (tx *dirTx) UsersOfArea(area string) []string {
	return tx.ids("SELECT id FROM users WHERE area = $1 ORDER BY id", []byte(area))
}

// Device implements store.DirTx.
func (tx *dirTx) Device(id string) (*store.Device, error) {
	var d store.Device
	return &d, tx.get(&d, "SELECT doc FROM directory_devices WHERE id = $1", []byte(id))
}

// DeviceByCredential implements store.DirTx.
func (tx *dirTx) DeviceByCredential(credentialID []byte) (*store.Device, error) {
	var d store.Device
	return &d, tx.get(&d, `SELECT d.doc FROM device_credentials c JOIN directory_devices d ON d.id = c.device
		WHERE c.credential = $1`, nonNull(credentialID))
}

// PutDevice implements store.DirTx: only a primary is indexed under its
// credential id.
func (tx *dirTx) PutDevice(d *store.Device) error {
	if err := tx.put(d, `INSERT INTO directory_devices (doc, id, user_id) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, user_id = excluded.user_id`, []byte(d.ID), []byte(d.UserID)); err != nil {
		return err
	}
	if !d.IsPrimary() {
		return nil
	}
	return tx.exec(`INSERT INTO device_credentials (credential, device) VALUES ($1, $2)
		ON CONFLICT (credential) DO UPDATE SET device = excluded.device`, nonNull(d.CredentialID), []byte(d.ID))
}

// DevicesOfUser implements store.DirTx.
func (tx *dirTx) DevicesOfUser(user string) []string {
	return tx.ids("SELECT id FROM directory_devices WHERE user_id = $1 ORDER BY id", []byte(user))
}

// Installations implements store.DirTx.
func (tx *dirTx) Installations(user, primary string) ([]*store.Device, error) {
	all, err := docs[store.Device](tx, "SELECT doc FROM directory_devices WHERE user_id = $1 ORDER BY id", []byte(user))
	if err != nil {
		return nil, err
	}
	var out []*store.Device
	for _, d := range all {
		if d.PrimaryID == primary && d.ID != primary {
			out = append(out, d)
		}
	}
	return out, nil
}

// Client implements store.DirTx.
func (tx *dirTx) Client(id string) (*store.Client, error) {
	var c store.Client
	return &c, tx.get(&c, "SELECT doc FROM clients WHERE id = $1", []byte(id))
}

// PutClient implements store.DirTx (moving a client between teams
// re-indexes it: the team is a column of its row).
func (tx *dirTx) PutClient(c *store.Client) error {
	return tx.put(c, `INSERT INTO clients (doc, id, area, team) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, area = excluded.area, team = excluded.team`,
		[]byte(c.ID), []byte(c.AreaID), []byte(c.TeamID))
}

// ClientsOfArea implements store.DirTx.
func (tx *dirTx) ClientsOfArea(area string) []string {
	return tx.ids("SELECT id FROM clients WHERE area = $1 ORDER BY id", []byte(area))
}

// ClientsOfTeam implements store.DirTx.
func (tx *dirTx) ClientsOfTeam(team string) []string {
	return tx.ids("SELECT id FROM clients WHERE team = $1 ORDER BY id", []byte(team))
}

// PutAssignment implements store.DirTx.
func (tx *dirTx) PutAssignment(a *store.Assignment) error {
	return tx.put(a, `INSERT INTO assignments (doc, user_id, client, from_ns) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client, from_ns) DO UPDATE SET doc = excluded.doc`,
		[]byte(a.UserID), []byte(a.ClientID), a.From.UnixNano())
}

// AssignmentsOfUser implements store.DirTx: by client, then start.
func (tx *dirTx) AssignmentsOfUser(user string) ([]*store.Assignment, error) {
	return docs[store.Assignment](tx, "SELECT doc FROM assignments WHERE user_id = $1 ORDER BY client, from_ns", []byte(user))
}

// AssignmentsOfClient implements store.DirTx: by user, then start.
func (tx *dirTx) AssignmentsOfClient(client string) ([]*store.Assignment, error) {
	return docs[store.Assignment](tx, "SELECT doc FROM assignments WHERE client = $1 ORDER BY user_id, from_ns", []byte(client))
}

// PurgedClient implements store.DirTx.
func (tx *dirTx) PurgedClient(id string) (*store.PurgedClient, error) {
	var p store.PurgedClient
	return &p, tx.get(&p, "SELECT doc FROM purged_clients WHERE id = $1", []byte(id))
}
