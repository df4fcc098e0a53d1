package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
)

// DirectoryVersion moves on with every directory write that commits, and
// with nothing else.
func TestDirectoryVersion(t *testing.T) {
	ctx := context.Background()
	errRefused := errors.New("refused")
	tests := []struct {
		name     string
		op       func(t *testing.T, s *store.DB, p purgeFixture) error
		wantMove bool
	}{
		{name: "write", wantMove: true, op: func(_ *testing.T, s *store.DB, _ purgeFixture) error {
			return s.Directory(ctx, func(tx store.DirTx) error { return tx.PutTeam(&store.Team{ID: "t", AreaID: "a"}) })
		}},
		{name: "delete", wantMove: true, op: func(_ *testing.T, s *store.DB, _ purgeFixture) error {
			return s.Directory(ctx, func(tx store.DirTx) error { return tx.DeleteCeremony("none") })
		}},
		{name: "purge", wantMove: true, op: func(t *testing.T, s *store.DB, p purgeFixture) error {
			return s.PurgeClient(ctx, p.gone, p.head(t), time.Now(), p.audit)
		}},
		{name: "read", op: func(_ *testing.T, s *store.DB, _ purgeFixture) error {
			return s.DirectoryView(ctx, func(tx store.DirTx) error { _, err := tx.Areas(); return err })
		}},
		{name: "transaction that wrote nothing", op: func(_ *testing.T, s *store.DB, _ purgeFixture) error {
			return s.Directory(ctx, func(tx store.DirTx) error { _, err := tx.Areas(); return err })
		}},
		{name: "transaction that failed", op: func(_ *testing.T, s *store.DB, _ purgeFixture) error {
			err := s.Directory(ctx, func(tx store.DirTx) error {
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
			p := purgeFixture{gone: w.Gone, audit: w.Audit(), head: func(t *testing.T) uint64 { return w.Head(t, w.Gone) }}
			before := s.DirectoryVersion()
			if err := tc.op(t, s, p); err != nil {
				t.Fatal(err)
			}
			if moved := s.DirectoryVersion() != before; moved != tc.wantMove {
				t.Errorf("version moved = %v, want %v", moved, tc.wantMove)
			}
		})
	}
}

type purgeFixture struct {
	gone  string
	audit *store.Audit
	head  func(t *testing.T) uint64
}
