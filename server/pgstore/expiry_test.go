package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
)

// Entries past their expiry by the store's clock are deleted by a later
// directory commit; those not yet expired, and those that never expire,
// stay.
func TestExpiredEntriesSwept(t *testing.T) {
	clk := fixture.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s, err := Open(context.Background(), Options{URL: pgtest.Shared(t).Database(t, t.Name()), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := clk.Now()
	put := func(fn func(tx store.DirTx) error) {
		t.Helper()
		if err := s.Directory(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	put(func(tx store.DirTx) error {
		for _, err := range []error{
			tx.PutCeremony(&store.Ceremony{ID: "soon", ExpiresAt: now.Add(time.Minute)}),
			tx.PutCeremony(&store.Ceremony{ID: "later", ExpiresAt: now.Add(2 * store.InviteKeptFor)}),
			tx.PutSession(&store.Session{ID: "soon", AccessHash: []byte("a1"), AbsoluteExpiresAt: now.Add(time.Minute)}),
			tx.PutSession(&store.Session{ID: "never", AccessHash: []byte("a2")}),
			tx.PutInvite(&store.Invite{Hash: []byte("old"), AreaID: "a1", ExpiresAt: now}),
			tx.PutInvite(&store.Invite{Hash: []byte("new"), AreaID: "a1", ExpiresAt: now.Add(store.InviteKeptFor)}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	clk.Advance(store.InviteKeptFor + time.Minute)
	put(func(tx store.DirTx) error { return tx.PutArea(&store.Area{ID: "a1"}) })
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"SELECT convert_from(id, 'UTF8') FROM ceremonies ORDER BY id", []string{"later"}},
		{"SELECT convert_from(id, 'UTF8') FROM sessions ORDER BY id", []string{"never"}},
		{"SELECT convert_from(hash, 'UTF8') FROM invites ORDER BY hash", []string{"new"}},
	} {
		rows, err := s.pool.Query(ctx, tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if rows.Err() != nil || len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("%s = %v (%v), want %v", tc.query, got, rows.Err(), tc.want)
		}
	}
}
