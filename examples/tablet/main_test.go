package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad invocations fail at once with an error that says what to do, before
// any call to a server.
func TestRunRefusesBadFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined: -nope"},
		{"stray argument", []string{"--invite", "tci_x", "sync"}, nil, `unexpected argument "sync"`},
		{"server not a URL", []string{"--server", "localhost:8080", "--invite", "tci_x"}, nil, "--server must be an http:// or https:// URL"},
		{"server with another scheme", []string{"--server", "ftp://localhost", "--invite", "tci_x"}, nil, "--server must be"},
		{"server from the environment", []string{"--invite", "tci_x"}, map[string]string{"THROUGHCARE_SERVER": "::"}, "--server must be"},
		{"no invite for a new device", nil, nil, "--invite is required to enrol a new device"},
		{"no invite for a data directory never enrolled", []string{"--data", "DATA"}, nil, "--invite is required: the device in"},
		// Nothing listens on port 1: enrolment fails with the network error.
		{"server unreachable", []string{"--server", "http://127.0.0.1:1", "--invite", "tci_x", "--data", "DATA"}, nil, "enrolling:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "DATA", dir)
			}
			getenv := noEnv
			if tt.env != nil {
				getenv = func(k string) string { return tt.env[k] }
			}
			var out bytes.Buffer
			err := run(context.Background(), args, getenv, &out)
			if err == nil {
				t.Fatalf("run %v worked; output:\n%s", args, out.String())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run %v: %q, want it to say %q", args, err, tt.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v, want flag.ErrHelp", err)
	}
	for _, f := range []string{"-server", "-invite", "-data", "http://localhost:8080"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("usage does not mention %s:\n%s", f, out.String())
		}
	}
}

// The demo's store key is made once and read back after; the store it
// opens is encrypted with it.
func TestDemoKeyKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "demo-store.key")
	k1, err := demoKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := demoKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Fatalf("keys %x and %x", k1, k2)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
}
