package store

import (
	"bytes"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The directory's devices (installations signed in with a passkey), their
// sessions and the WebAuthn ceremonies that sign them in; the key layout is
// directory.go's.

// Device is one installation of the app signed in with a passkey; its ID is
// the replica id the installation stamps its changes with.
//
// The device created at enrolment is the passkey's primary: it holds the
// WebAuthn Credential (as its owner encodes it; the store does not look
// inside) and the credential index points at it. A synced passkey may sign
// in on other installations too: each is a Device of the same user with its
// own ID and Name, the same CredentialID, no Credential, and PrimaryID
// naming the primary. Records stored before PrimaryID existed decode with
// it empty: primaries.
type Device struct {
	ID, UserID, Name      string
	CredentialID          []byte
	Credential            []byte
	PrimaryID             string `json:",omitempty"`
	CreatedAt, LastUsedAt time.Time
	RevokedAt             time.Time
}

// IsPrimary reports whether d is the device a passkey was enrolled on.
func (d *Device) IsPrimary() bool { return d.PrimaryID == "" }

// PrimaryOf returns the id of the device whose credential backs d: d's
// own id for a primary.
func (d *Device) PrimaryOf() string {
	if d.PrimaryID != "" {
		return d.PrimaryID
	}
	return d.ID
}

// Session is a signed-in device. Only hashes of its tokens are stored.
type Session struct {
	ID, UserID, DeviceID                                 string
	AccessHash, RefreshHash, PreviousRefreshHash         []byte
	CreatedAt, LastUsedAt                                time.Time
	AccessExpiresAt, RefreshExpiresAt, AbsoluteExpiresAt time.Time
	// GraceClosed says the refresh token PreviousRefreshHash names may not
	// be answered again: the current pair has been used, or it was itself
	// such an answer.
	GraceClosed bool
}

// Ceremony is a WebAuthn ceremony in progress (single use, short-lived).
type Ceremony struct {
	ID, Kind   string
	Data       []byte
	InviteHash []byte
	DeviceName string
	ExpiresAt  time.Time
}

// Device returns a device.
func (tx *badgerDirTx) Device(id string) (*Device, error) {
	var d Device
	return &d, tx.get(dkey(dDevice, id), &d)
}

// DeviceByCredential returns the device of a WebAuthn credential id.
func (tx *badgerDirTx) DeviceByCredential(credentialID []byte) (*Device, error) {
	id, err := tx.lookup(dkey(dDeviceByCredential, string(credentialID)))
	if err != nil {
		return nil, err
	}
	return tx.Device(id)
}

// PutDevice stores a device. Only a primary (PrimaryID empty) is indexed
// under its credential id: storing another installation of the same
// passkey leaves the credential index on the primary.
func (tx *badgerDirTx) PutDevice(d *Device) error {
	users := []string{d.UserID}
	if old, err := tx.Device(d.ID); err == nil && old.UserID != d.UserID {
		users = append(users, old.UserID)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return tx.userScoped(func() error { return tx.putDevice(d) }, users...)
}

func (tx *badgerDirTx) putDevice(d *Device) error {
	if err := tx.put(dkey(dDevice, d.ID), d, time.Time{}); err != nil {
		return err
	}
	if d.PrimaryID == "" {
		if err := tx.set(dkey(dDeviceByCredential, string(d.CredentialID)), []byte(d.ID)); err != nil {
			return err
		}
	}
	return tx.index(dkey(dDevicesOfUser, d.UserID, d.ID))
}

// DevicesOfUser returns the ids of a user's devices.
func (tx *badgerDirTx) DevicesOfUser(user string) []string { return tx.scan(dDevicesOfUser, user) }

// Installations returns the devices of a user that a primary's passkey
// signed in on besides the primary itself (PrimaryID == primary), revoked
// ones included.
func (tx *badgerDirTx) Installations(user, primary string) ([]*Device, error) {
	var out []*Device
	for _, id := range tx.DevicesOfUser(user) {
		d, err := tx.Device(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.PrimaryID == primary && d.ID != primary {
			out = append(out, d)
		}
	}
	return out, nil
}

// Session returns a session.
func (tx *badgerDirTx) Session(id string) (*Session, error) {
	var s Session
	return &s, tx.get(dkey(dSession, id), &s)
}

// SessionByAccess returns the session with an access-token hash.
func (tx *badgerDirTx) SessionByAccess(hash []byte) (*Session, error) {
	id, err := tx.lookup(dkey(dSessionByAccess, string(hash)))
	if err != nil {
		return nil, err
	}
	return tx.Session(id)
}

// SessionByRefresh returns the session whose current or previous
// refresh-token hash this is (the caller tells which by comparing).
func (tx *badgerDirTx) SessionByRefresh(hash []byte) (*Session, error) {
	id, err := tx.lookup(dkey(dSessionByRefresh, string(hash)))
	if err != nil {
		return nil, err
	}
	return tx.Session(id)
}

// PutSession stores a session and indexes its token hashes (the previous
// refresh hash too, so that its reuse can be detected).
func (tx *badgerDirTx) PutSession(s *Session) error {
	old, err := tx.Session(s.ID)
	if errors.Is(err, ErrNotFound) {
		old = nil
	} else if err != nil {
		return err
	}
	users := []string{s.UserID}
	if old != nil && old.UserID != s.UserID {
		users = append(users, old.UserID)
	}
	return tx.userScoped(func() error { return tx.putSession(s, old) }, users...)
}

// putSession is PutSession, old the session stored before (nil: none).
func (tx *badgerDirTx) putSession(s, old *Session) error {
	if old != nil {
		if err := tx.delete(dkey(dSessionByAccess, string(old.AccessHash))); err != nil {
			return err
		}
		if err := tx.delete(dkey(dSessionByRefresh, string(old.PreviousRefreshHash))); err != nil {
			return err
		}
	}
	if err := tx.put(dkey(dSession, s.ID), s, s.AbsoluteExpiresAt); err != nil {
		return err
	}
	for _, h := range [][]byte{s.RefreshHash, s.PreviousRefreshHash} {
		if len(h) > 0 {
			if err := tx.setEntry(badger.NewEntry(dkey(dSessionByRefresh, string(h)), []byte(s.ID)).WithTTL(s.AbsoluteExpiresAt.Sub(tx.now) + time.Second)); err != nil {
				return err
			}
		}
	}
	if err := tx.setEntry(badger.NewEntry(dkey(dSessionByAccess, string(s.AccessHash)), []byte(s.ID)).WithTTL(s.AbsoluteExpiresAt.Sub(tx.now) + time.Second)); err != nil {
		return err
	}
	if err := tx.index(dkey(dSessionsOfUser, s.UserID, s.ID)); err != nil {
		return err
	}
	return tx.index(dkey(dSessionsOfDevice, s.DeviceID, s.ID))
}

// UpdateSession stores a change to a session that leaves its token hashes
// as they are, so that its indexes need no rewriting: one write. A session
// that is not stored, or whose hashes changed, is refused (use PutSession).
func (tx *badgerDirTx) UpdateSession(s *Session) error {
	old, err := tx.Session(s.ID)
	if err != nil {
		return err
	}
	if !bytes.Equal(old.AccessHash, s.AccessHash) || !bytes.Equal(old.RefreshHash, s.RefreshHash) ||
		!bytes.Equal(old.PreviousRefreshHash, s.PreviousRefreshHash) || old.UserID != s.UserID || old.DeviceID != s.DeviceID {
		return errors.New("store: UpdateSession cannot change a session's tokens or holder; use PutSession")
	}
	return tx.userScoped(func() error { return tx.put(dkey(dSession, s.ID), s, s.AbsoluteExpiresAt) }, s.UserID)
}

// DeleteSession removes a session and its indexes.
func (tx *badgerDirTx) DeleteSession(id string) error {
	s, err := tx.Session(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.userScoped(func() error { return tx.deleteSession(s) }, s.UserID)
}

func (tx *badgerDirTx) deleteSession(s *Session) error {
	id := s.ID
	for _, k := range [][]byte{
		dkey(dSession, id), dkey(dSessionByAccess, string(s.AccessHash)),
		dkey(dSessionByRefresh, string(s.RefreshHash)), dkey(dSessionByRefresh, string(s.PreviousRefreshHash)),
		dkey(dSessionsOfUser, s.UserID, id), dkey(dSessionsOfDevice, s.DeviceID, id),
	} {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}

// SessionsOfUser returns the ids of a user's sessions.
func (tx *badgerDirTx) SessionsOfUser(user string) []string { return tx.scan(dSessionsOfUser, user) }

// SessionsOfDevice returns the ids of a device's sessions.
func (tx *badgerDirTx) SessionsOfDevice(device string) []string {
	return tx.scan(dSessionsOfDevice, device)
}

// Ceremony returns a ceremony, unless it expired.
func (tx *badgerDirTx) Ceremony(id string) (*Ceremony, error) {
	var c Ceremony
	if err := tx.get(dkey(dCeremony, id), &c); err != nil {
		return nil, err
	}
	if !tx.now.Before(c.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &c, nil
}

// PutCeremony stores a ceremony until it expires.
func (tx *badgerDirTx) PutCeremony(c *Ceremony) error {
	return tx.userScoped(func() error { return tx.put(dkey(dCeremony, c.ID), c, c.ExpiresAt) })
}

// DeleteCeremony consumes a ceremony.
func (tx *badgerDirTx) DeleteCeremony(id string) error {
	return tx.userScoped(func() error { return tx.delete(dkey(dCeremony, id)) })
}
