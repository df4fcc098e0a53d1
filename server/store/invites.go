package store

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
)

// Invites. An invite is stored under the hash of its code (the code itself
// is never stored) and indexed under its area by its id, which names it in
// lists and for revoking and says nothing about the code. Using or revoking
// an invite marks it rather than deleting it, so the people who manage it
// can see what became of it; its record and index entry go InviteKeptFor
// after it expires, whatever its state.

// InviteByServer is the CreatedBy of an invite the server minted itself
// (the bootstrap invite, or one from the operator's command) rather than a
// user: it has no inviter who could be disabled.
const InviteByServer = "bootstrap"

// InviteKeptFor is how long an invite's record outlives its expiry.
const InviteKeptFor = 7 * 24 * time.Hour

// Invite is a one-time enrolment invitation. CreatedBy is the id of the
// user who made it, or InviteByServer.
type Invite struct {
	Hash []byte
	// ID is a UUIDv7 (ids sort by creation). Invites stored before ids
	// existed have none until they are stored again.
	ID                                           string `json:",omitempty"`
	AreaID, Role, TeamID, DisplayName, CreatedBy string
	CreatedAt                                    time.Time `json:",omitzero"`
	ExpiresAt                                    time.Time
	// UsedBy is the user who enrolled with the invite, at UsedAt.
	UsedBy string    `json:",omitempty"`
	UsedAt time.Time `json:",omitzero"`
	// RevokedBy is the user who revoked the invite, at RevokedAt.
	RevokedBy string    `json:",omitempty"`
	RevokedAt time.Time `json:",omitzero"`
}

// Used reports whether someone enrolled with the invite.
func (in *Invite) Used() bool { return in.UsedBy != "" }

// Revoked reports whether the invite was revoked.
func (in *Invite) Revoked() bool { return !in.RevokedAt.IsZero() }

// Pending reports whether the invite may still be used at now: not used,
// revoked or expired. (Whether its inviter still vouches for it is package
// auth's rule.)
func (in *Invite) Pending(now time.Time) bool {
	return !in.Used() && !in.Revoked() && now.Before(in.ExpiresAt)
}

// Invite returns the invite with the given code hash while it is pending
// (see Invite.Pending): a used, revoked or expired one is ErrNotFound.
func (tx *badgerDirTx) Invite(hash []byte) (*Invite, error) {
	var in Invite
	if err := tx.get(dkey(dInvite, string(hash)), &in); err != nil {
		return nil, err
	}
	if !in.Pending(tx.now) {
		return nil, ErrNotFound
	}
	return &in, nil
}

// InviteOfArea returns the area's invite with the id, in whatever state:
// ErrNotFound if the area has no such invite (any more).
func (tx *badgerDirTx) InviteOfArea(area, id string) (*Invite, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	hash, err := tx.lookup(dkey(dInvitesOfArea, area, id))
	if err != nil {
		return nil, err
	}
	var in Invite
	if err := tx.get(dkey(dInvite, hash), &in); err != nil {
		return nil, err
	}
	if in.AreaID != area || in.ID != id {
		return nil, errors.New("store: invite index points at another invite")
	}
	return &in, nil
}

// InvitesOfArea calls fn with the area's stored invites, in every state,
// newest first, starting after the one with id after (with the newest if
// after is empty), until fn returns false.
func (tx *badgerDirTx) InvitesOfArea(area, after string, fn func(*Invite) bool) error {
	prefix := append(dkey(dInvitesOfArea, area), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.Reverse = prefix, true
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	start := append(append([]byte(nil), prefix...), 0xff)
	if after != "" {
		start = append(append([]byte(nil), prefix...), after...)
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		if string(it.Item().Key()[len(prefix):]) == after {
			continue
		}
		hash, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		var in Invite
		if err := tx.get(dkey(dInvite, string(hash)), &in); errors.Is(err, ErrNotFound) {
			continue // expiring with its index entry
		} else if err != nil {
			return err
		}
		if !fn(&in) {
			return nil
		}
	}
	return nil
}

// PutInvite stores an invite, giving it an id if it has none, and indexes
// it under its area; both are kept until InviteKeptFor after it expires.
func (tx *badgerDirTx) PutInvite(in *Invite) error {
	if in.ID == "" {
		in.ID = uuid.Must(uuid.NewV7()).String()
	}
	keep := in.ExpiresAt.Add(InviteKeptFor)
	if err := tx.put(dkey(dInvite, string(in.Hash)), in, keep); err != nil {
		return err
	}
	return tx.setEntry(tx.entry(dkey(dInvitesOfArea, in.AreaID, in.ID), in.Hash, keep))
}
