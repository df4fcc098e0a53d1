package pgstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/syncengine"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func TestPostgresPurgeConformance(t *testing.T) {
	storetest.RunPurge(t, func(t *testing.T) storetest.PurgeStore {
		return openURL(t, pgtest.Shared(t).Database(t, t.Name()))
	})
}

// A tombstone not Done (PurgeClient writes none; a database another
// version left so) is completed by FinishPurges: the bucket's rows go, the
// tombstone is Done and its id returned, once.
func TestFinishPurgesCompletesOpenTombstone(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Shared(t).Database(t, t.Name())
	s := openURL(t, url)
	dev := sample.NewDevice("u", time.Now, 3)
	client, chs := dev.NewClient("Lambeth")
	if _, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: "u", DeviceID: dev.ID, ReceivedAt: time.Now(), Changes: chs}); err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(&store.PurgedClient{ID: client, AreaID: "a", PurgedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO purged_clients (id, doc) VALUES ($1, $2)", []byte(client), doc); err != nil {
		t.Fatal(err)
	}
	open, err := s.FinishPurges(ctx)
	if err != nil || len(open) != 1 || open[0] != client {
		t.Fatalf("FinishPurges = %v, %v; want the open tombstone's client", open, err)
	}
	if log, err := s.Log(ctx, client); err != nil || len(log) != 0 {
		t.Fatalf("Log after FinishPurges: %d entries, %v; want none", len(log), err)
	}
	if err := s.DirectoryView(ctx, func(tx store.DirTx) error {
		p, err := tx.PurgedClient(client)
		if err == nil && !p.Done {
			t.Error("tombstone not Done after FinishPurges")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if open, err := s.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("second FinishPurges = %v, %v; want nothing", open, err)
	}
}
