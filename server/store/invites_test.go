package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// TestInviteStates: an invite is found by its code hash only while it is
// pending; used, revoked and expired invites are still found by id within
// their area (and only there), so their managers can see what became of
// them.
func TestInviteStates(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name        string
		in          store.Invite
		wantPending bool
	}{
		{"pending", store.Invite{ExpiresAt: now.Add(time.Hour)}, true},
		{"used", store.Invite{ExpiresAt: now.Add(time.Hour), UsedBy: "u1", UsedAt: now}, false},
		{"revoked", store.Invite{ExpiresAt: now.Add(time.Hour), RevokedBy: "u2", RevokedAt: now}, false},
		{"expired", store.Invite{ExpiresAt: now.Add(-time.Hour)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Hash, in.AreaID = []byte("hash-"+tc.name), "area-a"
			if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.PutInvite(&in) }); err != nil {
				t.Fatal(err)
			}
			if _, err := uuid.Parse(in.ID); err != nil {
				t.Fatalf("PutInvite gave the invite id %q: %v", in.ID, err)
			}
			s.DirectoryView(ctx, func(tx store.DirTx) error {
				_, err := tx.Invite(in.Hash)
				if got := err == nil; got != tc.wantPending {
					t.Errorf("found by hash: %v (%v), want %v", got, err, tc.wantPending)
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("by hash: %v, want ErrNotFound", err)
				}
				got, err := tx.InviteOfArea("area-a", in.ID)
				if err != nil || got.ID != in.ID || got.UsedBy != in.UsedBy || !got.RevokedAt.Equal(in.RevokedAt) {
					t.Errorf("by id in its area: %+v, %v", got, err)
				}
				if _, err := tx.InviteOfArea("area-b", in.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("by id in another area: %v, want ErrNotFound", err)
				}
				return nil
			})
		})
	}
}

// TestInvitesOfArea lists an area's invites newest first, from after a
// given id, stopping when asked, and never another area's.
func TestInvitesOfArea(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var ids []string // oldest first
	err = s.Directory(ctx, func(tx store.DirTx) error {
		for i := range 5 {
			in := &store.Invite{Hash: []byte{byte(i)}, AreaID: "area-a", ExpiresAt: time.Now().Add(time.Hour)}
			if err := tx.PutInvite(in); err != nil {
				return err
			}
			ids = append(ids, in.ID)
		}
		return tx.PutInvite(&store.Invite{Hash: []byte("b"), AreaID: "area-b", ExpiresAt: time.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)
	list := func(after string, limit int) []string {
		var got []string
		if err := s.DirectoryView(ctx, func(tx store.DirTx) error {
			return tx.InvitesOfArea("area-a", after, func(in *store.Invite) bool {
				got = append(got, in.ID)
				return len(got) < limit
			})
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"all", "", 10, newest},
		{"first two", "", 2, newest[:2]},
		{"after the second", newest[1], 2, newest[2:4]},
		{"after the oldest", newest[4], 10, nil},
		{"after an id that is not there", newest[1] + "x", 10, newest[1:]},
	}
	for _, tc := range tests {
		if got := list(tc.after, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
