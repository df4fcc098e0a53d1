package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
)

// DirectoryVersion moves on with every directory write that commits,
// except to sessions, devices (UserVersion, of their users), ceremonies and
// the audit; and with nothing else.
func TestDirectoryVersion(t *testing.T) {
	ctx := context.Background()
	errRefused := errors.New("refused")
	at := time.Now()
	session := &store.Session{ID: "s1", UserID: "u1", DeviceID: "d1", AccessHash: []byte("a"), RefreshHash: []byte("r"),
		AccessExpiresAt: at.Add(time.Hour), RefreshExpiresAt: at.Add(time.Hour), AbsoluteExpiresAt: at.Add(time.Hour)}
	dir := func(s *store.DB, fn func(tx store.DirTx) error) error { return s.Directory(ctx, fn) }
	tests := []struct {
		name      string
		setup, op func(s *store.DB, p purgeFixture) error
		wantAll   bool
		wantUsers []string // whose UserVersion moves, of u1, u2
	}{
		{name: "team", wantAll: true, op: func(s *store.DB, _ purgeFixture) error {
			return dir(s, func(tx store.DirTx) error { return tx.PutTeam(&store.Team{ID: "t", AreaID: "a"}) })
		}},
		{name: "user", wantAll: true, op: func(s *store.DB, _ purgeFixture) error {
			return dir(s, func(tx store.DirTx) error { return tx.PutUser(&store.User{ID: "u1", AreaID: "a"}) })
		}},
		{name: "purge", wantAll: true, op: func(s *store.DB, p purgeFixture) error {
			return s.PurgeClient(ctx, p.gone, p.head, time.Now(), p.audit)
		}},
		{name: "session", wantUsers: []string{"u1"}, op: func(s *store.DB, _ purgeFixture) error {
			return dir(s, func(tx store.DirTx) error { return tx.PutSession(session) })
		}},
		{name: "session updated", wantUsers: []string{"u1"},
			setup: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.PutSession(session) })
			},
			op: func(s *store.DB, _ purgeFixture) error {
				c := *session
				c.GraceClosed = true
				return dir(s, func(tx store.DirTx) error { return tx.UpdateSession(&c) })
			}},
		{name: "session moved to another user", wantUsers: []string{"u1", "u2"},
			setup: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.PutSession(session) })
			},
			op: func(s *store.DB, _ purgeFixture) error {
				c := *session
				c.UserID = "u2"
				return dir(s, func(tx store.DirTx) error { return tx.PutSession(&c) })
			}},
		{name: "session deleted", wantUsers: []string{"u1"},
			setup: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.PutSession(session) })
			},
			op: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.DeleteSession(session.ID) })
			}},
		{name: "device moved to another user", wantUsers: []string{"u1", "u2"},
			setup: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.PutDevice(&store.Device{ID: "d1", UserID: "u1"}) })
			},
			op: func(s *store.DB, _ purgeFixture) error {
				return dir(s, func(tx store.DirTx) error { return tx.PutDevice(&store.Device{ID: "d1", UserID: "u2"}) })
			}},
		{name: "ceremony", op: func(s *store.DB, _ purgeFixture) error {
			return dir(s, func(tx store.DirTx) error {
				if err := tx.PutCeremony(&store.Ceremony{ID: "c", ExpiresAt: at.Add(time.Minute)}); err != nil {
					return err
				}
				return tx.DeleteCeremony("c")
			})
		}},
		{name: "audit", op: func(s *store.DB, p purgeFixture) error {
			return dir(s, func(tx store.DirTx) error { return tx.AppendAudit(p.audit) })
		}},
		{name: "read", op: func(s *store.DB, _ purgeFixture) error {
			return s.DirectoryView(ctx, func(tx store.DirTx) error { _, err := tx.Areas(); return err })
		}},
		{name: "transaction that wrote nothing", op: func(s *store.DB, _ purgeFixture) error {
			return dir(s, func(tx store.DirTx) error { _, err := tx.Areas(); return err })
		}},
		{name: "transaction that failed", op: func(s *store.DB, _ purgeFixture) error {
			err := dir(s, func(tx store.DirTx) error {
				if err := tx.PutTeam(&store.Team{ID: "t", AreaID: "a"}); err != nil {
					return err
				}
				return errRefused
			})
			if errors.Is(err, errRefused) {
				return nil
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, w := newPurgeWorld(t, 1)
			p := purgeFixture{gone: w.Gone, audit: w.Audit(), head: w.Head(t, w.Gone)}
			if tc.setup != nil {
				if err := tc.setup(s, p); err != nil {
					t.Fatal(err)
				}
			}
			all, u1, u2 := s.DirectoryVersion(), s.UserVersion("u1"), s.UserVersion("u2")
			if err := tc.op(s, p); err != nil {
				t.Fatal(err)
			}
			if moved := s.DirectoryVersion() != all; moved != tc.wantAll {
				t.Errorf("DirectoryVersion moved = %v, want %v", moved, tc.wantAll)
			}
			for user, before := range map[string]uint64{"u1": u1, "u2": u2} {
				want := false
				for _, u := range tc.wantUsers {
					want = want || u == user
				}
				if moved := s.UserVersion(user) != before; moved != want {
					t.Errorf("UserVersion(%s) moved = %v, want %v", user, moved, want)
				}
			}
		})
	}
}

type purgeFixture struct {
	gone  string
	audit *store.Audit
	head  uint64
}
