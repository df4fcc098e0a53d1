package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// privateDataDir makes sure only the server's user can reach the data
// directory: it creates it 0700 if it is missing, and if group or others
// have any access to it or to anything in it, it takes that access away and
// warns. If that fails (the server's user does not own them), it returns an
// error saying why, and the server does not start. Where file modes mean
// nothing (Windows) it only creates the directory.
func privateDataDir(dir string, log zerolog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !ownerOnlyModes {
		return nil
	}
	n, err := tighten(dir, os.Chmod)
	if n > 0 {
		log.Warn().Str("data", dir).Int("entries", n).
			Msg("data directory was open to group or others: their access is removed (the directory is now 0700, its files owner-only)")
	}
	return err
}

// tighten takes group and others' access away, with chmod, from dir and
// everything in it (a symbolic link inside is left alone: its target is not
// the server's to change), and returns how many entries it changed.
func tighten(dir string, chmod func(string, fs.FileMode) error) (int, error) {
	root, err := filepath.EvalSymlinks(dir) // a data directory may be a link to one
	if err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := fi.Mode().Perm()
		if perm&0o077 == 0 {
			return nil
		}
		if err := chmod(path, perm&^0o077); err != nil {
			return fmt.Errorf("%s is open to group or others (mode %v) and cannot be made owner-only (%w): "+
				"run the server as its owner, or chmod -R go-rwx the data directory", path, perm, err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("data directory %s: %w", dir, err)
	}
	return n, nil
}
