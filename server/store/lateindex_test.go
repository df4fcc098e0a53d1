package store

import (
	"context"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A store written before the late index existed gets it built from its log
// when it is opened, once.
func TestLateIndexBuiltForOlderStores(t *testing.T) {
	dir := t.TempDir()
	open := func() *DB {
		s, err := Open(Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	ctx := context.Background()
	client, late := uuid.NewString(), uuid.NewString()
	// A late change, written as the engine writes one: its log entry is
	// flagged, and the record is in the index.
	err := s.Buckets(ctx, func(tx BucketTx) error {
		e := &v1.HistoryEntry{Position: 1, RecordId: late, RecordType: "contact", Field: "notes", Late: true}
		if err := tx.Append(client, e); err != nil {
			return err
		}
		if err := tx.PutRecord(client, &v1.RecordState{RecordId: late, RecordType: "contact", Position: 1}); err != nil {
			return err
		}
		return tx.MarkLate(client, late)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Make it look like an older store: no index, no marker.
	err = s.db.Update(func(txn *badger.Txn) error {
		b, _ := id16(client)
		r, _ := id16(late)
		if err := txn.Delete(lateKey(b, r)); err != nil {
			return err
		}
		return txn.Delete(keyLateIndex)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LateRecords(ctx, client); len(got) != 0 {
		t.Fatalf("index not removed: %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	if got, err := s.LateRecords(ctx, client); err != nil || !slices.Equal(got, []string{late}) {
		t.Fatalf("LateRecords after reopening = %v, %v; want [%s]", got, err, late)
	}
}
