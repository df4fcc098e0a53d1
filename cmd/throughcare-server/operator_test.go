package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/operator"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

var inviteLine = regexp.MustCompile(`^admin invite for (.+) \(valid 168h0m0s\): (tci_\S+)\n$`)

// runInviteAdmin runs `throughcare-server invite-admin --data data --area
// area` and returns the code it printed.
func runInviteAdmin(t *testing.T, data, area string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"invite-admin", "--data", data, "--area", area}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("invite-admin --area %s: %v\n%s", area, err, out.String())
	}
	m := inviteLine.FindStringSubmatch(out.String())
	if m == nil || m[1] != area {
		t.Fatalf("invite-admin printed %q", out.String())
	}
	return m[2]
}

// enrolAdmin enrols a passkey with code and returns the name of the area
// the new user administers.
func enrolAdmin(t *testing.T, base, code string) string {
	t.Helper()
	ctx := context.Background()
	key := software.New("http://localhost:8080")
	key.RPID = "localhost"
	sess, err := passkey.Enrol(ctx, throughcarev1connect.NewAuthServiceClient(h2c(), base), key, code, "Operator laptop")
	if err != nil {
		t.Fatalf("enrolling with the minted invite: %v", err)
	}
	if sess.GetRole() != v1.Role_ROLE_ADMIN {
		t.Fatalf("enrolled as %v, want admin", sess.GetRole())
	}
	adm := throughcarev1connect.NewAdminServiceClient(h2c(), base, connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken())))
	area, err := adm.GetArea(ctx, &v1.GetAreaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return area.GetName()
}

// invite-admin works while the server runs, through its operator socket:
// a second area gets its first admin, and the first area (whose bootstrap
// admin is "lost") a new one. With the server stopped it opens the store.
func TestInviteAdminWhileTheServerRuns(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	logs := newLogBuffer()
	base, stop := startRun(t, logs, data)
	sock := operator.SocketPath(data)
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the running server's operator socket: %v, %v; want a 0600 socket", fi, err)
	}

	if got := enrolAdmin(t, base, runInviteAdmin(t, data, "Southwark")); got != "Southwark" {
		t.Errorf("the second area's admin administers %q, want Southwark", got)
	}
	if got := enrolAdmin(t, base, runInviteAdmin(t, data, "lambeth")); got != "Lambeth" {
		t.Errorf("the replacement admin administers %q, want the bootstrap area Lambeth", got)
	}
	stop()
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the server stopped, its socket: %v; want it gone", err)
	}

	code := runInviteAdmin(t, data, "Lewisham") // no server: the store, directly
	base, _ = startRun(t, newLogBuffer(), data)
	if got := enrolAdmin(t, base, code); got != "Lewisham" {
		t.Errorf("an invite minted with the server stopped enrols an admin of %q, want Lewisham", got)
	}
}
