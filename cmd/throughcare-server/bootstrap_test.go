package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// readBootstrapInvite returns the invite in the data directory's bootstrap
// file, checking it is readable by its owner only.
func readBootstrapInvite(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(data, "bootstrap-invite.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap invite file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	return strings.TrimSpace(string(b))
}

// The bootstrap invite is shown on a terminal, and only there: a stdout
// that is not one (journald, docker logs, a file) is a log stream, and gets
// the file's path instead.
func TestBootstrapInviteShownOnlyOnATerminal(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		name := map[bool]string{false: "log_stream", true: "terminal"}[terminal]
		t.Run(name, func(t *testing.T) {
			logs := newLogBuffer()
			logs.terminal = terminal
			data := filepath.Join(t.TempDir(), "data")
			_, stop := startRun(t, logs, data)
			code := readBootstrapInvite(t, data)
			stop() // everything the server writes is in logs now
			out, path := logs.String(), filepath.Join(data, "bootstrap-invite.txt")
			if got := strings.Contains(out, code); got != terminal {
				t.Errorf("the output holds the invite = %v, want %v:\n%s", got, terminal, out)
			}
			if !strings.Contains(out, path) {
				t.Errorf("the output does not name the invite's file %s:\n%s", path, out)
			}
			for line := range strings.Lines(out) {
				if strings.HasPrefix(line, "{") && strings.Contains(line, code) {
					t.Errorf("a log line holds the invite: %s", line)
				}
			}
		})
	}
}

// The bootstrap file goes as soon as the first admin has enrolled with it,
// and a start that finds it holding a used invite (left by a server that
// stopped before deleting it) deletes it too. Until then it stays.
func TestBootstrapFileGoesOnceTheAdminEnrols(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(data, "bootstrap-invite.txt")
	_, stop := startRun(t, newLogBuffer(), data)
	code := readBootstrapInvite(t, data)
	stop()

	base, stop := startRun(t, newLogBuffer(), data)
	if got := readBootstrapInvite(t, data); got != code {
		t.Fatalf("after a restart the file holds %q, want the unused invite %q", got, code)
	}
	key := software.New("http://localhost:8080") // the default --rp-origins
	key.RPID = "localhost"
	authClient := throughcarev1connect.NewAuthServiceClient(h2c(), base)
	if _, err := passkey.Enrol(context.Background(), authClient, key, code, "Admin laptop"); err != nil {
		t.Fatalf("enrolling the admin: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after the admin enrolled, the bootstrap file: %v; want it gone", err)
	}
	stop()

	if err := os.WriteFile(path, []byte(code+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := newLogBuffer()
	_, stop = startRun(t, logs, data)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a start left the bootstrap file holding a used invite: %v", err)
	}
	stop()
	if out := logs.String(); !strings.Contains(out, "removed the bootstrap invite's file") {
		t.Errorf("the start did not say it removed the file:\n%s", out)
	}
}
