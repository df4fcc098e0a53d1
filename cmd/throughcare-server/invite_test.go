package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// closeFails is a store whose Close reports an error (after closing it).
type closeFails struct{ *store.DB }

var errCloseFailed = errors.New("close failed")

func (s closeFails) Close() error { return errors.Join(s.DB.Close(), errCloseFailed) }

// invite-admin shows the code only once the store holding its invite has
// closed cleanly; a failed close is the command's error.
func TestInviteAdminReportsAFailedClose(t *testing.T) {
	tests := []struct {
		name      string
		wrap      func(*store.DB) inviteStore
		wantErr   error
		wantShown bool
	}{
		{"closes cleanly", func(db *store.DB) inviteStore { return db }, nil, true},
		{"close fails", func(db *store.DB) inviteStore { return closeFails{db} }, errCloseFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = mintAndClose(t.Context(), tt.wrap(db), "North", time.Now(), &out)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("mintAndClose = %v, want %v", err, tt.wantErr)
			}
			if got := strings.Contains(out.String(), "admin invite for North"); got != tt.wantShown {
				t.Errorf("code shown = %v, want %v (output %q)", got, tt.wantShown, out.String())
			}
		})
	}
}
