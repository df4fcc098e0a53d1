package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// ClientAssignments is a client with the open assignment periods of the
// users of its area.
type ClientAssignments struct {
	Client *Client
	Open   []*Assignment
}

// ClientsWithAssignments returns every client of an area, by id, each with
// the open assignment periods the area's users hold on it (by user, then
// start). Point reads cost several microseconds each in Badger, so it
// walks the client table with one iterator (seeking only past other areas'
// clients) and reads assignments user by user, by key prefix.
func (tx *badgerDirTx) ClientsWithAssignments(area string) ([]*ClientAssignments, error) {
	ids := tx.ClientsOfArea(area)
	out := make([]*ClientAssignments, 0, len(ids))
	byID := make(map[string]*ClientAssignments, len(ids))
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false // a Seek would prefetch other areas' clients
	opts.Prefix = []byte{dClient}
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	for _, id := range ids {
		k := dkey(dClient, id)
		if !it.Valid() || !bytes.Equal(it.Item().Key(), k) {
			it.Seek(k)
		}
		if !it.Valid() || !bytes.Equal(it.Item().Key(), k) {
			return nil, fmt.Errorf("store: client index points nowhere: %w", ErrNotFound)
		}
		var c Client
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &c) }); err != nil {
			return nil, err
		}
		it.Next()
		ca := &ClientAssignments{Client: &c}
		out = append(out, ca)
		byID[id] = ca
	}
	for _, u := range tx.UsersOfArea(area) {
		as, err := tx.AssignmentsOfUser(u)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if ca := byID[a.ClientID]; ca != nil && a.Open() {
				ca.Open = append(ca.Open, a)
			}
		}
	}
	return out, nil
}
