package pgstore

import (
	"bytes"
	"errors"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/store"
)

// Sessions, ceremonies and invites: the directory's entries that expire.
// Expiry is decided against the transaction's time (the store's clock).
// Past it they are swept (see sweepExpired), as Badger's TTLs drop them.

// Session implements store.DirTx.
func (tx *dirTx) Session(id string) (*store.Session, error) {
	var s store.Session
	return &s, tx.get(&s, "SELECT doc FROM sessions WHERE id = $1", []byte(id))
}

// SessionByAccess implements store.DirTx.
func (tx *dirTx) SessionByAccess(hash []byte) (*store.Session, error) {
	var s store.Session
	return &s, tx.get(&s, "SELECT doc FROM sessions WHERE access_hash = $1 LIMIT 1", nonNull(hash))
}

// SessionByRefresh implements store.DirTx: the session whose current or
// previous refresh-token hash this is.
func (tx *dirTx) SessionByRefresh(hash []byte) (*store.Session, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	var s store.Session
	return &s, tx.get(&s, "SELECT doc FROM sessions WHERE refresh_hash = $1 OR previous_refresh_hash = $1 LIMIT 1", hash)
}

// PutSession implements store.DirTx: the token hashes are columns of the
// session's row, so storing it replaces the old ones in the lookups.
func (tx *dirTx) PutSession(s *store.Session) error {
	return tx.put(s, `INSERT INTO sessions (doc, id, user_id, device, access_hash, refresh_hash, previous_refresh_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, user_id = excluded.user_id, device = excluded.device,
			access_hash = excluded.access_hash, refresh_hash = excluded.refresh_hash,
			previous_refresh_hash = excluded.previous_refresh_hash, expires_at = excluded.expires_at`,
		[]byte(s.ID), []byte(s.UserID), []byte(s.DeviceID), nonNull(s.AccessHash), nullable(s.RefreshHash), nullable(s.PreviousRefreshHash),
		unixNano(s.AbsoluteExpiresAt))
}

// UpdateSession implements store.DirTx: a change that leaves the
// session's tokens and holder as they are.
func (tx *dirTx) UpdateSession(s *store.Session) error {
	old, err := tx.Session(s.ID)
	if err != nil {
		return err
	}
	if !bytes.Equal(old.AccessHash, s.AccessHash) || !bytes.Equal(old.RefreshHash, s.RefreshHash) ||
		!bytes.Equal(old.PreviousRefreshHash, s.PreviousRefreshHash) || old.UserID != s.UserID || old.DeviceID != s.DeviceID {
		return errors.New("pgstore: UpdateSession cannot change a session's tokens or holder; use PutSession")
	}
	return tx.put(s, "UPDATE sessions SET doc = $1, expires_at = $3 WHERE id = $2", []byte(s.ID), unixNano(s.AbsoluteExpiresAt))
}

// DeleteSession implements store.DirTx (an absent session is no error).
func (tx *dirTx) DeleteSession(id string) error {
	return tx.exec("DELETE FROM sessions WHERE id = $1", []byte(id))
}

// SessionsOfUser implements store.DirTx.
func (tx *dirTx) SessionsOfUser(user string) []string {
	return tx.ids("SELECT id FROM sessions WHERE user_id = $1 ORDER BY id", []byte(user))
}

// SessionsOfDevice implements store.DirTx.
func (tx *dirTx) SessionsOfDevice(device string) []string {
	return tx.ids("SELECT id FROM sessions WHERE device = $1 ORDER BY id", []byte(device))
}

// Ceremony implements store.DirTx: ErrNotFound once it expired by the
// store's clock.
func (tx *dirTx) Ceremony(id string) (*store.Ceremony, error) {
	var c store.Ceremony
	if err := tx.get(&c, "SELECT doc FROM ceremonies WHERE id = $1", []byte(id)); err != nil {
		return nil, err
	}
	if !tx.now.Before(c.ExpiresAt) {
		return nil, store.ErrNotFound
	}
	return &c, nil
}

// PutCeremony implements store.DirTx.
func (tx *dirTx) PutCeremony(c *store.Ceremony) error {
	return tx.put(c, `INSERT INTO ceremonies (doc, id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, expires_at = excluded.expires_at`,
		[]byte(c.ID), unixNano(c.ExpiresAt))
}

// DeleteCeremony implements store.DirTx.
func (tx *dirTx) DeleteCeremony(id string) error {
	return tx.exec("DELETE FROM ceremonies WHERE id = $1", []byte(id))
}

// Invite implements store.DirTx: the invite while it is pending.
func (tx *dirTx) Invite(hash []byte) (*store.Invite, error) {
	var in store.Invite
	if err := tx.get(&in, "SELECT doc FROM invites WHERE hash = $1 AND kept_until > $2", nonNull(hash), tx.now.UnixNano()); err != nil {
		return nil, err
	}
	if !in.Pending(tx.now) {
		return nil, store.ErrNotFound
	}
	return &in, nil
}

// InviteOfArea implements store.DirTx: the area's invite with the id, in
// whatever state, while it is kept.
func (tx *dirTx) InviteOfArea(area, id string) (*store.Invite, error) {
	if id == "" {
		return nil, store.ErrNotFound
	}
	var in store.Invite
	return &in, tx.get(&in, "SELECT doc FROM invites WHERE area = $1 AND id = $2 AND kept_until > $3",
		[]byte(area), []byte(id), tx.now.UnixNano())
}

// invitesPage is how many invites InvitesOfArea reads at a time.
const invitesPage = 100

// InvitesOfArea implements store.DirTx: newest (greatest id) first. It
// reads a page at a time and calls fn between reads, so fn may use the
// transaction.
func (tx *dirTx) InvitesOfArea(area, after string, fn func(*store.Invite) bool) error {
	var from []byte // NULL: from the newest
	if after != "" {
		from = []byte(after)
	}
	for {
		page, err := docs[store.Invite](tx, `SELECT doc FROM invites
			WHERE area = $1 AND kept_until > $2 AND ($3::bytea IS NULL OR id < $3) ORDER BY id DESC LIMIT $4`,
			[]byte(area), tx.now.UnixNano(), from, invitesPage)
		if err != nil {
			return err
		}
		for _, in := range page {
			if !fn(in) {
				return nil
			}
		}
		if len(page) < invitesPage {
			return nil
		}
		from = []byte(page[len(page)-1].ID)
	}
}

// PutInvite implements store.DirTx: it gives the invite an id if it has
// none; the invite is kept until store.InviteKeptFor after it expires.
func (tx *dirTx) PutInvite(in *store.Invite) error {
	if in.ID == "" {
		in.ID = uuid.Must(uuid.NewV7()).String()
	}
	// The area's id now names this invite (code hash), not another one.
	if err := tx.exec("DELETE FROM invites WHERE area = $1 AND id = $2 AND hash <> $3",
		[]byte(in.AreaID), []byte(in.ID), nonNull(in.Hash)); err != nil {
		return err
	}
	return tx.put(in, `INSERT INTO invites (doc, hash, area, id, kept_until) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hash) DO UPDATE SET doc = excluded.doc, area = excluded.area, id = excluded.id, kept_until = excluded.kept_until`,
		nonNull(in.Hash), []byte(in.AreaID), []byte(in.ID), in.ExpiresAt.Add(store.InviteKeptFor).UnixNano())
}
