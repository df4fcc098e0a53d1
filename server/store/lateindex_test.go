package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
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
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d := sample.NewDevice("u", func() time.Time { return at }, 1)
	client, chs := d.NewClient("Lambeth")
	late, cchs := d.NewContact(client, at)
	_, more := d.NewContact(client, at)
	_, err := s.Push(ctx, &Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: at, Changes: append(append(chs, cchs...), more...),
		Check: func(ch *v1.Change, _ *v1.RecordState) Decision { return Decision{Late: ch.GetRecordId() == late} }})
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
