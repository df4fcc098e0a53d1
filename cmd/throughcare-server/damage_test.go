package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/storekey"
)

// A damaged store does not start: run() returns the damage, naming the data
// directory, what is missing and what to do, before anything listens and
// without minting a bootstrap invite (a store that lost its metadata is not
// a new one). With --accept-data-loss, a write-ahead log that lost
// acknowledged writes starts, with a new cursor key so that every tablet
// resets; a lost MANIFEST still does not.
func TestDamagedStoreRefusesToStart(t *testing.T) {
	ctx := context.Background()
	// A store as a first start leaves it, its first admin enrolled (the
	// invite's file gone)...
	data := filepath.Join(t.TempDir(), "data")
	_, stop := startRun(t, newLogBuffer(), data)
	stop()
	invite := filepath.Join(data, admin.BootstrapFile)
	if err := os.Remove(invite); err != nil {
		t.Fatal(err)
	}
	// ...then a write acknowledged into its write-ahead log, and the
	// directory as a kill leaves it. (The first start encrypted the
	// store with a key file it created beside the data directory.)
	keyFile := defaultKeyFile(data)
	storeKey, err := storekey.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: storeKey})
	if err != nil {
		t.Fatal(err)
	}
	key := slices.Clone(st.CursorKey())
	if err := st.NoteEvictions(ctx, "tablet-1", map[string]time.Time{"c0000000-0000-4000-8000-000000000001": time.Now()}); err != nil {
		t.Fatal(err)
	}
	killed := storetest.CopyDir(t, data)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		damage     string // the file deleted
		says       string
		acceptable bool
	}{
		{"write-ahead log deleted", "00001.mem", "write-ahead log ends early", true},
		{"MANIFEST deleted", "MANIFEST", "no MANIFEST", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := storetest.CopyDir(t, killed)
			if err := os.Remove(filepath.Join(dir, tc.damage)); err != nil {
				t.Fatal(err)
			}
			refused(t, dir, tc.says, "--key-file", keyFile)
			if !tc.acceptable {
				refused(t, dir, tc.says, "--accept-data-loss", "--key-file", keyFile)
				return
			}
			logs := newLogBuffer()
			_, stop := startRun(t, logs, dir, "--accept-data-loss", "--key-file", keyFile)
			stop()
			if !strings.Contains(logs.String(), "opened a damaged store") {
				t.Errorf("the accepted start did not say so:\n%s", logs.String())
			}
			if _, err := os.Stat(filepath.Join(dir, admin.BootstrapFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the accepted start minted a bootstrap invite: %v", err)
			}
			st, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: storeKey})
			if err != nil {
				t.Fatalf("the next start without --accept-data-loss: %v", err)
			}
			defer st.Close()
			if slices.Equal(st.CursorKey(), key) {
				t.Error("the cursor key survived the accepted loss: tablets would not reset")
			}
			if losses, err := st.AcceptedLosses(ctx); err != nil || len(losses) != 1 {
				t.Errorf("AcceptedLosses = %+v, %v; want the one start", losses, err)
			}
		})
	}
}

// refused runs the server on dir with extra flags and checks that it
// refuses to start, saying why and what to do, and mints no invite.
func refused(t *testing.T, dir, says string, extra ...string) {
	t.Helper()
	logs := newLogBuffer()
	args := append([]string{"--listen", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, extra...)
	err := run(context.Background(), args, func(string) string { return "" }, logs)
	if err == nil {
		t.Fatal("run() on a damaged store returned nil")
	}
	for _, want := range []string{dir, says, "To proceed: restore the data directory from a backup", "--accept-data-loss"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run() = %q; want it to say %q", err, want)
		}
	}
	if out := logs.String(); strings.Contains(out, `"listening"`) {
		t.Errorf("the server listened on a damaged store:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, admin.BootstrapFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bootstrap invite was minted on a damaged store: %v", err)
	}
}

func TestAcceptDataLossFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"off_by_default", nil, nil, false},
		{"flag", []string{"--accept-data-loss"}, nil, true},
		{"from_the_environment", nil, map[string]string{"THROUGHCARE_ACCEPT_DATA_LOSS": "true"}, true},
		{"flag_over_environment", []string{"--accept-data-loss=false"}, map[string]string{"THROUGHCARE_ACCEPT_DATA_LOSS": "true"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.AcceptDataLoss != tt.want {
				t.Fatalf("AcceptDataLoss = %v, want %v", c.AcceptDataLoss, tt.want)
			}
		})
	}
}
