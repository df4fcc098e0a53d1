package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The directory's clients (people on a caseload) and the history of which
// worker was assigned to which client when; the key layout is directory.go's.

// Client is a person on a caseload: their id names their bucket.
type Client struct {
	ID, AreaID, TeamID string
	CreatedAt          time.Time
}

// Assignment is one period in which a worker was assigned to a client. To
// is zero while it lasts.
type Assignment struct {
	ClientID, UserID string
	From, To         time.Time
}

// Open reports whether the assignment is current.
func (a Assignment) Open() bool { return a.To.IsZero() }

// Covers reports whether the assignment covered instant t.
func (a Assignment) Covers(t time.Time) bool {
	return !t.Before(a.From) && (a.To.IsZero() || t.Before(a.To))
}

// Client returns a client.
func (tx *badgerDirTx) Client(id string) (*Client, error) {
	var c Client
	return &c, tx.get(dkey(dClient, id), &c)
}

// PutClient stores a client (moving it between teams re-indexes it).
func (tx *badgerDirTx) PutClient(c *Client) error {
	if old, err := tx.Client(c.ID); err == nil && old.TeamID != c.TeamID {
		if err := tx.delete(dkey(dClientsOfTeam, old.TeamID, c.ID)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := tx.put(dkey(dClient, c.ID), c, time.Time{}); err != nil {
		return err
	}
	if err := tx.index(dkey(dClientsOfArea, c.AreaID, c.ID)); err != nil {
		return err
	}
	return tx.index(dkey(dClientsOfTeam, c.TeamID, c.ID))
}

// ClientsOfArea returns the ids of an area's clients.
func (tx *badgerDirTx) ClientsOfArea(area string) []string { return tx.scan(dClientsOfArea, area) }

// ClientsOfTeam returns the ids of a team's clients.
func (tx *badgerDirTx) ClientsOfTeam(team string) []string { return tx.scan(dClientsOfTeam, team) }

func assignmentKey(table byte, a, b string, from time.Time) []byte {
	k := append(dkey(table, a, b), 0)
	return append(k, be64(uint64(from.UnixNano()))...)
}

// PutAssignment stores an assignment period (ending one is storing it
// again with To set).
func (tx *badgerDirTx) PutAssignment(a *Assignment) error {
	if err := tx.put(assignmentKey(dAssignment, a.UserID, a.ClientID, a.From), a, time.Time{}); err != nil {
		return err
	}
	return tx.set(assignmentKey(dAssignmentsOfClient, a.ClientID, a.UserID, a.From), assignmentKey(dAssignment, a.UserID, a.ClientID, a.From))
}

// AssignmentsOfUser returns every assignment period of a user, current and
// ended, by client then start.
func (tx *badgerDirTx) AssignmentsOfUser(user string) ([]*Assignment, error) {
	prefix := append(dkey(dAssignment, user), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Assignment
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		var a Assignment
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, nil
}

// AssignmentsOfClient returns every assignment period of a client.
func (tx *badgerDirTx) AssignmentsOfClient(client string) ([]*Assignment, error) {
	prefix := append(dkey(dAssignmentsOfClient, client), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Assignment
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		target, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		var a Assignment
		if err := tx.get(target, &a); err != nil {
			return nil, fmt.Errorf("store: assignment index points nowhere: %w", err)
		}
		out = append(out, &a)
	}
	return out, nil
}
