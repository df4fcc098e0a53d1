package storekey_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/throughcare/throughcare/server/storekey"
)

const keyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func writeKeyFile(t *testing.T, dir, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := writeKeyFile(t, dir, "good.key", keyHex+"\n", 0o600)
	readOnly := writeKeyFile(t, dir, "ro.key", strings.ToUpper(keyHex), 0o400)
	groupRead := writeKeyFile(t, dir, "group.key", keyHex, 0o640)
	worldRead := writeKeyFile(t, dir, "world.key", keyHex, 0o604)
	short := writeKeyFile(t, dir, "short.key", keyHex[:62], 0o600)
	notHex := writeKeyFile(t, dir, "nothex.key", strings.Repeat("zz", 32), 0o600)
	b64 := writeKeyFile(t, dir, "b64.key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0o600)
	huge := writeKeyFile(t, dir, "huge.key", strings.Repeat(keyHex, 40), 0o600)
	want, _ := hex.DecodeString(keyHex)

	var perm *storekey.PermissionError
	var format *storekey.FormatError
	tests := []struct {
		name    string
		path    string
		env     map[string]string
		wantErr any // nil, a sentinel error, or a pointer to a typed error
		inErr   string
	}{
		{name: "key file", path: good},
		{name: "upper-case digits, owner read only", path: readOnly},
		{name: "key file from the environment", env: map[string]string{storekey.EnvKeyFile: good}},
		{name: "flag wins over THROUGHCARE_KEY_FILE", path: good, env: map[string]string{storekey.EnvKeyFile: groupRead}},
		{name: "key in the environment", env: map[string]string{storekey.EnvKey: " " + keyHex + "\n"}},
		{name: "nothing configured", wantErr: storekey.ErrNoKey},
		{name: "both a file and the key", path: good, env: map[string]string{storekey.EnvKey: keyHex}, inErr: "both"},
		{name: "group-readable file", path: groupRead, wantErr: &perm, inErr: "0640"},
		{name: "world-readable file", path: worldRead, wantErr: &perm, inErr: "0604"},
		{name: "directory", path: dir, wantErr: &perm, inErr: "regular file"},
		{name: "short key", path: short, wantErr: &format, inErr: "62 characters"},
		{name: "not hex", path: notHex, wantErr: &format, inErr: "hexadecimal"},
		{name: "base64 is not accepted", path: b64, wantErr: &format},
		{name: "huge file", path: huge, wantErr: &format, inErr: "longer"},
		{name: "short key in the environment", env: map[string]string{storekey.EnvKey: "abcd"}, wantErr: &format, inErr: storekey.EnvKey},
		{name: "missing file", path: filepath.Join(dir, "absent.key"), wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.wantErr == &perm && tt.path != dir {
				return // no permission bits
			}
			k, err := storekey.Load(tt.path, env(tt.env))
			if tt.wantErr == nil && tt.inErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got := k.Bytes(); string(got) != string(want) {
					t.Fatalf("key = %x, want %x", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error")
			}
			switch w := tt.wantErr.(type) {
			case error:
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			case nil:
			default:
				if !errors.As(err, w) {
					t.Errorf("err = %T %v, want a %T", err, err, w)
				}
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("err = %q, want it to mention %q", err, tt.inErr)
			}
			if tt.path != "" && tt.path != good && errors.As(err, &perm) && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("err = %q, want it to name the path %s", err, tt.path)
			}
			if strings.Contains(strings.ToLower(err.Error()), keyHex[:16]) {
				t.Errorf("err = %q holds the key", err)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.key")
	k, err := storekey.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("mode = %v, want %v", got, want)
		}
	}
	back, err := storekey.Load(p, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(k) {
		t.Errorf("loaded %v, created %v", back, k)
	}
	before, _ := os.ReadFile(p)
	if _, err := storekey.Create(p); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Create: err = %v, want already exists", err)
	}
	if after, _ := os.ReadFile(p); string(after) != string(before) {
		t.Errorf("second Create changed the key file")
	}
	other, err := storekey.Create(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Equal(k) || other.Fingerprint() == k.Fingerprint() {
		t.Errorf("two created keys are the same: %v", k)
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	k, err := storekey.Parse("test", keyHex)
	if err != nil {
		t.Fatal(err)
	}
	fp := k.Fingerprint()
	if len(fp) != 16 {
		t.Fatalf("fingerprint %q, want 16 hex digits", fp)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for name, v := range map[string]any{"key": k, "pointer": &k, "in a struct": struct{ K storekey.Key }{k}} {
			got := fmt.Sprintf(verb, v)
			raw := string(k.Bytes())
			// As hex, as raw bytes, or as a list of numbers (%d, %v of the array).
			if strings.Contains(strings.ToLower(got), keyHex[:8]) || strings.Contains(got, raw) || strings.Contains(got, "1 2 3 4") {
				t.Errorf("Sprintf(%s, %s) = %q shows the key", verb, name, got)
			}
		}
	}
	if got := fmt.Sprint(k); !strings.Contains(got, fp) {
		t.Errorf("Sprint = %q, want the fingerprint %s", got, fp)
	}
	var zero storekey.Key
	if !zero.IsZero() || zero.Fingerprint() != "" || zero.Bytes() != nil {
		t.Errorf("zero Key: IsZero %v, fingerprint %q, bytes %x", zero.IsZero(), zero.Fingerprint(), zero.Bytes())
	}
}

func TestFromBytes(t *testing.T) {
	tests := []struct {
		n       int
		wantErr bool
	}{{32, false}, {16, true}, {0, true}, {33, true}}
	for _, tt := range tests {
		k, err := storekey.FromBytes(make([]byte, tt.n))
		if gotErr := err != nil; gotErr != tt.wantErr {
			t.Errorf("FromBytes(%d bytes): err = %v, want error %v", tt.n, err, tt.wantErr)
		}
		if err == nil && k.IsZero() {
			t.Errorf("FromBytes(%d bytes) is the zero Key", tt.n)
		}
	}
}
