package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// writeOld writes a profile as the CLI did before it used the SDK, with a
// store key if given.
func writeOld(t *testing.T, path string, session []byte, seq uint64, storeKey []byte) {
	t.Helper()
	p := map[string]any{"session": json.RawMessage(session), "seq": seq, "cursor": []byte("c"), "last_stamp": 42}
	if storeKey != nil {
		p["store_key"] = storeKey
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// openCLI opens the CLI on a profile, as a command run does.
func openCLI(t *testing.T, path string) (*cli, error) {
	t.Helper()
	c, err := newCLI("http://127.0.0.1:1", path, "", "", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.open()
	t.Cleanup(func() { c.close() })
	return c, err
}

// An old profile's device moves into the store and out of the profile, also
// when a run stopped after the store took it (the profile still holds it:
// the store's device stays); a profile whose session cannot be read is an
// error, not a new device.
func TestMigrateMovesTheDeviceIntoTheStore(t *testing.T) {
	sess := &v1.Session{UserId: uuid.NewString(), DeviceId: uuid.NewString(), Role: v1.Role_ROLE_WORKER}
	good, err := protojson.Marshal(sess)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := protojson.Marshal(&v1.Session{UserId: uuid.NewString(), DeviceId: uuid.NewString()})
	for _, tc := range []struct {
		name    string
		again   []byte // the profile's session when a second run finds it still there
		session []byte
		wantErr string
	}{
		{name: "moved", session: good},
		{name: "stopped before the profile was rewritten", session: good, again: other},
		{name: "unreadable session", session: []byte(`{"userId": 7}`), wantErr: "the session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.json")
			writeOld(t, path, tc.session, 5, nil)
			c, err := openCLI(t, path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("open = %v, want an error about %s", err, tc.wantErr)
				}
				if c.dev.DeviceID() != "" {
					t.Fatalf("a profile with an unreadable session made device %s", c.dev.DeviceID())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.again != nil {
				c.close()
				// As if the first run had stopped right after Adopt.
				writeOld(t, path, tc.again, 9, c.prof.StoreKey)
				if c, err = openCLI(t, path); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.dev.DeviceID(); got != sess.GetDeviceId() {
				t.Errorf("the store's device is %q, want the profile's %s", got, sess.GetDeviceId())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{`"session"`, `"seq"`, `"cursor"`, `"last_stamp"`} {
				if strings.Contains(string(b), k) {
					t.Errorf("the profile still holds %s:\n%s", k, b)
				}
			}
			fi, err := os.Stat(storeDir(path))
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("the store directory: %v, %v; want mode 0700", fi.Mode(), err)
			}
		})
	}
}
