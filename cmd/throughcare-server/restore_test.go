package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// takeBackup runs the server on data and streams a backup from it as an
// admin, as `throughcare backup` does, into a file.
func takeBackup(t *testing.T, data string) string {
	t.Helper()
	ids := servertest.NewTokens()
	ids.SignIn("t", identity.Identity{UserID: "admin", DeviceID: "laptop", Role: identity.Admin, Area: "Lambeth"})
	base, _, stop := serveOn(t, data, ids)
	defer stop()
	admin := throughcarev1connect.NewAdminServiceClient(h2c(), base, connect.WithInterceptors(servertest.BearerToken("t")))
	stream, err := admin.StreamBackup(context.Background(), &v1.StreamBackupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	for stream.Receive() {
		file = append(file, stream.Msg().GetData()...)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.tcbk")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Personal data pushed through the server is not in its backup; the
// backup restores, encrypted, into a new directory, and the server serves
// it with the same key; a restore is refused into a directory with
// anything in it, without the key, and from a damaged file, and refusing
// changes nothing.
func TestBackupAndRestoreCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	plantThroughServer(t, data)
	file := takeBackup(t, data)
	raw, _ := os.ReadFile(file)
	for _, p := range planted {
		if bytes.Contains(raw, []byte(p)) {
			t.Fatalf("the backup holds %q in the clear", p)
		}
	}
	key := defaultKeyFile(data)
	damaged := filepath.Join(t.TempDir(), "damaged.tcbk")
	raw[len(raw)/2] ^= 0x10
	os.WriteFile(damaged, raw, 0o600)
	noEnv := func(string) string { return "" }

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"into the live data directory", []string{"--from", file, "--data", data, "--key-file", key}, "empty"},
		{"without a key", []string{"--from", file, "--data", filepath.Join(t.TempDir(), "new")}, "needs the store key"},
		{"from a damaged file", []string{"--from", damaged, "--data", filepath.Join(t.TempDir(), "new"), "--key-file", key}, "checksum"},
		{"without --from", []string{"--data", filepath.Join(t.TempDir(), "new")}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"restore"}, tc.args...), noEnv, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v\n%s; want an error saying %q", err, out.String(), tc.want)
			}
		})
	}

	restored := filepath.Join(t.TempDir(), "restored")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"restore", "--from", file, "--data", restored, "--key-file", key}, noEnv, &out); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), ": verified") || !strings.Contains(out.String(), "cursor key is replaced") {
		t.Fatalf("restore said %q", out.String())
	}
	if found := findPlanted(t, restored); len(found) > 0 {
		t.Fatalf("the restored store is not encrypted: %v", found)
	}
	// The server starts on the restored store with the key (its content
	// is compared record for record by the drill in package backup).
	_, _, stop := serveOn(t, restored, servertest.NewTokens(), "--key-file", key)
	stop()
}
