package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/throughcare/throughcare/server/storekey"
)

// A PostgreSQL URL is shown with its scheme, host, port and database only.
func TestPGURLShownWithoutUserOrPassword(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		secrets   []string
	}{
		{"postgres://tc:s3cr3t-pw@db.example.org:5432/throughcare", "postgres://db.example.org:5432/throughcare", []string{"s3cr3t-pw", "tc:"}},
		{"postgresql://tc@db.example.org/throughcare?sslmode=verify-full&password=qu3ry-pw", "postgresql://db.example.org/throughcare", []string{"qu3ry-pw", "tc@"}},
		{"postgres://tc:p%40ss%2Fw0rd@[::1]:6432/tc", "postgres://[::1]:6432/tc", []string{"p@ss/w0rd", "p%40ss%2Fw0rd"}},
		{"postgres://postgres@/tc_1?host=/tmp/pg.sock&sslmode=disable", "postgres:///tc_1?host=%2Ftmp%2Fpg.sock", nil},
	} {
		u, err := parsePGURL(tc.raw)
		if err != nil {
			t.Fatalf("parsePGURL(%q): %v", tc.raw, err)
		}
		if got := u.String(); got != tc.want {
			t.Errorf("parsePGURL(%q) shows %q, want %q", tc.raw, got, tc.want)
		}
		scrubbed := u.scrub(errors.New("connecting to " + tc.raw + " failed: password p@ss/w0rd s3cr3t-pw qu3ry-pw refused"))
		for _, s := range tc.secrets {
			if strings.Contains(u.String(), s) || strings.Contains(scrubbed.Error(), s) {
				t.Errorf("%q: %q is shown: %q / %q", tc.raw, s, u.String(), scrubbed)
			}
		}
	}
}

// --store takes nothing but a PostgreSQL URL, and never echoes what it
// refuses; with a PostgreSQL store, the embedded store's own settings and
// subcommands are refused at start with a badgerOnlyError.
func TestStoreRefusals(t *testing.T) {
	const pg = "postgres://tc:n0t-sh0wn@127.0.0.1:1/tc"
	data := filepath.Join(t.TempDir(), "data")
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name        string
		args        []string
		env         func(string) string
		badgerOnly  bool // else errStoreURL
		wantMessage string
	}{
		{"another scheme", []string{"--store", "mysql://tc:n0t-sh0wn@db/tc"}, env(), false, "--store must be empty"},
		{"a key=value string", []string{"--store", "host=db password=n0t-sh0wn"}, env(), false, "--store must be empty"},
		{"an unreadable URL", []string{"--store", "postgres://tc:n0t-sh0wn@db:port/tc"}, env(), false, "--store must be empty"},
		{"key file flag", []string{"--store", pg, "--key-file", "/etc/tc.key"}, env(), true, "--key-file"},
		{"key file env", nil, env("THROUGHCARE_STORE", pg, storekey.EnvKeyFile, "/etc/tc.key"), true, "--key-file"},
		{"key in env", []string{"--store", pg}, env(storekey.EnvKey, strings.Repeat("ab", 32)), true, storekey.EnvKey},
		{"accept data loss", []string{"--store", pg, "--accept-data-loss"}, env(), true, "--accept-data-loss"},
		{"restore", []string{"restore", "--store", pg, "--from", "f", "--data", data}, env(), true, "restore"},
		{"restore, env", []string{"restore", "--from", "f", "--data", data}, env("THROUGHCARE_STORE", pg), true, "pg_restore"},
		{"encrypt", []string{"encrypt", "--store=" + pg, "--data", data}, env(), true, "encrypt"},
		{"rotate-key", []string{"rotate-key", "-store", pg, "--new-key-file", "k"}, env(), true, "rotate-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, tc.env, io.Discard)
			var bo *badgerOnlyError
			if got := errors.As(err, &bo); got != tc.badgerOnly {
				t.Fatalf("run(%q) = %v: a badgerOnlyError %v, want %v", tc.args, err, got, tc.badgerOnly)
			}
			if !tc.badgerOnly && !errors.Is(err, errStoreURL) {
				t.Fatalf("run(%q) = %v, want errStoreURL", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("run(%q) = %q, want it to name %q", tc.args, err, tc.wantMessage)
			}
			if strings.Contains(err.Error(), "n0t-sh0wn") {
				t.Errorf("run(%q) = %q: the password is shown", tc.args, err)
			}
		})
	}
}
