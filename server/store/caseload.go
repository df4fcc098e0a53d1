package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// ClientAssignments is a client with its open assignment periods.
type ClientAssignments struct {
	Client *Client
	Open   []*Assignment
}

// ClientsWithAssignments returns every client of an area, by id, each with
// its open assignment periods (by user, then start). It walks the area's
// client index once and the client-assignment index with one iterator,
// seeking to each client in turn.
func (tx *badgerDirTx) ClientsWithAssignments(area string) ([]*ClientAssignments, error) {
	ids := tx.ClientsOfArea(area)
	out := make([]*ClientAssignments, 0, len(ids))
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte{dAssignmentsOfClient}
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	for _, id := range ids {
		c, err := tx.Client(id)
		if err != nil {
			return nil, fmt.Errorf("store: client index points nowhere: %w", err)
		}
		ca := &ClientAssignments{Client: c}
		prefix := append(dkey(dAssignmentsOfClient, id), 0)
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var a Assignment
			err := it.Item().Value(func(target []byte) error { return tx.get(target, &a) })
			if err != nil {
				return nil, fmt.Errorf("store: assignment index points nowhere: %w", err)
			}
			if a.Open() {
				ca.Open = append(ca.Open, &a)
			}
		}
		out = append(out, ca)
	}
	return out, nil
}
