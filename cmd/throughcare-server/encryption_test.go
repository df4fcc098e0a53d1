package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/storekey"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// Personal data a test plants through the server and then looks for in
// the data directory's files.
var planted = []string{"Zebediah", "Quillfeather-Okonkwo", "relapsed after release from HMP Wandsworth"}

// plantThroughServer runs the server on data (with extra flags) and pushes
// a client with a distinctive name and contacts with a distinctive note,
// as a tablet does.
func plantThroughServer(t *testing.T, data string, extra ...string) (clientID string) {
	t.Helper()
	dev := sample.NewDevice("worker", time.Now, 3)
	clientID, chs := dev.NewClient("Lambeth")
	for _, c := range chs {
		c.RecordId, c.ClientId = clientID, clientID
	}
	chs = append(chs,
		dev.Change("client", clientID, clientID, "given_name", sample.Str(planted[0]), nil),
		dev.Change("client", clientID, clientID, "family_name", sample.Str(planted[1]), nil))
	for i := range 20 {
		contact, c := dev.NewContact(clientID, time.Now())
		chs = append(chs, c...)
		chs = append(chs, dev.Change("contact", contact, clientID, "notes", sample.Str(fmt.Sprintf("visit %d: %s", i, planted[2])), nil))
	}
	ids := servertest.NewTokens()
	ids.SignIn("t", identity.Identity{UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	base, _, stop := serveOn(t, data, ids, extra...)
	defer stop()
	if _, err := syncClient(base).Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}); err != nil {
		t.Fatalf("Push: %v", err)
	}
	return clientID
}

func findPlanted(t *testing.T, dir string) []string {
	t.Helper()
	return storetest.FilesContaining(t, dir, planted)
}

// The first start on a new data directory with no key configured creates
// a key file beside it (0600), says so, and encrypts the store; the next
// start with the same arguments finds the same key. Personal data pushed
// through the server is in none of the data directory's files; the same
// push into a store that is not encrypted is found (the search works).
func TestNewStoreIsEncryptedByDefault(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	logs := newLogBuffer()
	_, stop := startRun(t, logs, data)
	stop()
	keyFile := defaultKeyFile(data)
	if !strings.Contains(logs.String(), "move the key file somewhere safe") || !strings.Contains(logs.String(), keyFile) {
		t.Errorf("the first start did not warn about the key file %s:\n%s", keyFile, logs)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no key file beside the data directory: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	key, err := storekey.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyText, _ := os.ReadFile(keyFile)
	if strings.Contains(logs.String(), strings.TrimSpace(string(keyText))) {
		t.Error("the key is in the logs")
	}

	plantThroughServer(t, data) // the second start: no arguments but the data directory
	if found := findPlanted(t, data); len(found) > 0 {
		t.Errorf("planted data in the encrypted data directory: %q", found)
	}
	st, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		t.Fatalf("the store does not open with the key file's key: %v", err)
	}
	st.Close()

	// The control: a store that is not encrypted (made by the store, as
	// one made before encryption was) shows the same push.
	plain := filepath.Join(t.TempDir(), "plain")
	st, err = store.Open(store.Options{Dir: plain, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	plantThroughServer(t, plain)
	if found := findPlanted(t, plain); len(found) == 0 {
		t.Error("the planted data is not found in a store that is not encrypted: the search is broken")
	}
	if _, err := os.Stat(defaultKeyFile(plain)); err == nil {
		t.Error("a key file was created for an existing store that is not encrypted")
	}
}

// A start with a key that does not fit the store fails, saying why, before
// anything listens, and leaves the data directory byte for byte as it was.
func TestWrongKeyRefusedChangingNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	_, stop := startRun(t, newLogBuffer(), data)
	stop()
	other := filepath.Join(dir, "other.key")
	if _, err := storekey.Create(other); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	st, err := store.Open(store.Options{Dir: plain, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	moved := filepath.Join(dir, "moved.key")
	tests := []struct {
		name  string
		data  string
		setup func(t *testing.T)
		args  []string
		env   map[string]string
		says  string
	}{
		{name: "another key file", data: data, args: []string{"--key-file", other}, says: "encrypted with another key"},
		{name: "another key in the environment", data: data, env: map[string]string{storekey.EnvKey: strings.Repeat("ab", 32)}, says: "encrypted with another key"},
		{name: "no key (the key file moved away)", data: data, setup: func(t *testing.T) {
			if err := os.Rename(defaultKeyFile(data), moved); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Rename(moved, defaultKeyFile(data)) })
		}, says: "no key was given"},
		{name: "a key on a store that is not encrypted", data: plain, args: []string{"--key-file", other}, says: "not encrypted"},
		{name: "a key file others can read", data: data, setup: func(t *testing.T) {
			if err := os.Chmod(other, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(other, 0o600) })
		}, args: []string{"--key-file", other}, says: "mode -rw-r--r--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			before := storetest.Snapshot(t, tt.data)
			logs := newLogBuffer()
			args := append([]string{"--listen", "127.0.0.1:0", "--data", tt.data, "--log-format", "json"}, tt.args...)
			err := run(context.Background(), args, func(k string) string { return tt.env[k] }, logs)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("run() = %v, want an error saying %q", err, tt.says)
			}
			if strings.Contains(logs.String(), `"listening"`) {
				t.Errorf("the server listened:\n%s", logs)
			}
			if after := storetest.Snapshot(t, tt.data); !maps.Equal(before, after) {
				t.Errorf("the refused start changed the data directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// records counts the records of bucket in the store in data, opened with
// key.
func records(t *testing.T, data string, key storekey.Key, bucket string) int {
	t.Helper()
	st, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		t.Fatalf("open %s: %v", data, err)
	}
	defer st.Close()
	page, err := st.Pull(context.Background(), store.PullQuery{From: map[string]uint64{bucket: 0}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, bp := range page.Buckets {
		n += len(bp.Records)
	}
	return n
}

// runCmd runs run() with args; a server it starts by mistake stops after
// 30 seconds (and returns nil).
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, args, func(string) string { return "" }, &out)
	return out.String(), err
}

// An existing store that is not encrypted is encrypted by `encrypt`,
// keeping the unencrypted copy aside; `rotate-key` then moves it to a new
// key, after which only the new key starts the server, with all the data.
func TestEncryptAndRotateKeyCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	st, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1}) // a store from before encryption
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	client := plantThroughServer(t, data)
	const want = 21 // the client and 20 contacts

	keyFile := filepath.Join(dir, "store.key")
	out, err := runCmd(t, "encrypt", "--data", data, "--key-file", keyFile)
	if err != nil {
		t.Fatalf("encrypt: %v\n%s", err, out)
	}
	key, err := storekey.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, say := range []string{"created the key file " + keyFile, "encrypted " + data + " with key " + key.Fingerprint(), data + ".plaintext-backup", "shred"} {
		if !strings.Contains(out, say) {
			t.Errorf("encrypt said %q, want it to say %q", out, say)
		}
	}
	if found := findPlanted(t, data); len(found) > 0 {
		t.Errorf("planted data in the encrypted store: %q", found)
	}
	if found := findPlanted(t, data+".plaintext-backup"); len(found) == 0 {
		t.Error("the unencrypted copy does not hold the planted data")
	}
	if n := records(t, data, key, client); n != want {
		t.Fatalf("%d records after encrypt, want %d", n, want)
	}
	plantThroughServer(t, data, "--key-file", keyFile) // the server starts on it

	newKeyFile := filepath.Join(dir, "new.key")
	out, err = runCmd(t, "rotate-key", "--data", data, "--key-file", keyFile, "--new-key-file", newKeyFile)
	if err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	next, err := storekey.ReadFile(newKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "now encrypted with key "+next.Fingerprint()) || !strings.Contains(out, key.Fingerprint()+" no longer opens it") {
		t.Errorf("rotate-key said %q", out)
	}
	before := storetest.Snapshot(t, data)
	if out, err := runCmd(t, "--listen", "127.0.0.1:0", "--data", data, "--key-file", keyFile); err == nil || !strings.Contains(err.Error(), "encrypted with another key") {
		t.Fatalf("start with the old key after rotate-key = %v, want refused\n%s", err, out)
	}
	if !maps.Equal(before, storetest.Snapshot(t, data)) {
		t.Error("the refused start changed the data directory")
	}
	if out, err := runCmd(t, "rotate-key", "--data", data, "--key-file", keyFile, "--new-key-file", filepath.Join(dir, "third.key")); err == nil {
		t.Fatalf("rotate-key from the old key again worked:\n%s", out)
	}
	plantThroughServer(t, data, "--key-file", newKeyFile)
	if n := records(t, data, next, client); n != want {
		t.Fatalf("%d records after rotate-key, want %d", n, want)
	}
	if found := findPlanted(t, data); len(found) > 0 {
		t.Errorf("planted data in the store after rotation: %q", found)
	}
}

func TestNewKeyCommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	out, err := runCmd(t, "new-key", "--key-file", p)
	if err != nil {
		t.Fatal(err)
	}
	k, err := storekey.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, k.Fingerprint()) {
		t.Errorf("new-key said %q, want the fingerprint %s", out, k.Fingerprint())
	}
	if _, err := runCmd(t, "new-key", "--key-file", p); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second new-key on the same file = %v, want already exists", err)
	}
	if got, _ := storekey.ReadFile(p); !got.Equal(k) {
		t.Error("the second new-key changed the key file")
	}
}
