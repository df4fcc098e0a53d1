package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

// --version prints the build and exits without a command or a server.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--server", "http://127.0.0.1:1", "--version"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(out.String())
	if !strings.HasPrefix(got, "throughcare ") || !strings.Contains(got, "(revision ") || !strings.HasSuffix(got, " "+runtime.Version()) {
		t.Errorf("printed %q, want throughcare, its version and revision, and %s", got, runtime.Version())
	}
}
