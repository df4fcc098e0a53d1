//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A data directory others can read is tightened on start, with a warning,
// and nothing the server writes in it is readable by anyone else, whatever
// umask it was started with. (The test sets the common 022 umask, and
// restores the starting one after. Tests in this package do not run in
// parallel, as umask is process-wide.)
func TestDataDirectoryAndFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "left-by-an-earlier-run"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := newLogBuffer()
	_, stop := startRun(t, logs, data)
	running := openToOthers(t, data) // the lock file and memtables exist only now
	stop()
	for _, path := range append(running, openToOthers(t, data)...) {
		t.Errorf("%s: group or others can use it", path)
	}

	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if out := logs.String(); !strings.Contains(out, `"level":"warn"`) || !strings.Contains(out, "data directory was open to group or others") {
		t.Errorf("no warning that the directory was tightened:\n%s", out)
	}
	for _, want := range []string{"MANIFEST", "bootstrap-invite.txt"} {
		if _, err := os.Stat(filepath.Join(data, want)); err != nil {
			t.Errorf("the check saw no %s: %v", want, err)
		}
	}
}

// openToOthers walks dir (which must hold at least a few files, so the
// walk means something) and returns the entries group or others may use,
// with their modes.
func openToOthers(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	entries := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the running store removed it
		} else if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s (%v)", path, fi.Mode().Perm()))
		}
		entries++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries < 5 {
		t.Fatalf("only %d entries in %s: the check saw too little", entries, dir)
	}
	return open
}

// A data directory open to others that cannot be tightened (the server's
// user does not own it) stops the start, saying what and why.
func TestDataDirectoryThatCannotBeTightened(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o750); err != nil {
		t.Fatal(err)
	}
	notOwner := func(string, fs.FileMode) error { return fs.ErrPermission }
	n, err := tighten(data, notOwner)
	if err == nil || n != 0 {
		t.Fatalf("tighten = %d, %v; want an error", n, err)
	}
	for _, want := range []string{data, "-rwxr-x---", "permission denied", "owner"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("the error %v does not wrap its cause", err)
	}
	// An owner-only directory needs no change, so nothing is refused.
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := tighten(data, notOwner); n != 0 || err != nil {
		t.Fatalf("tighten of an owner-only directory = %d, %v", n, err)
	}
}
