package backup

import (
	"errors"
	"fmt"
	"os"

	"github.com/throughcare/throughcare/server/store"
)

// ChainError reports backup files that do not make one restore: the first
// is not a full backup, or one is of another store, or leaves a gap after
// the one before it.
type ChainError struct {
	// File is the file concerned (its path).
	File string
	// Reason says what is wrong.
	Reason string
}

func (e *ChainError) Error() string { return "backup: " + e.File + ": " + e.Reason }

// Chain checks that files, in order, make one restore: a full backup, then
// incremental ones of the same store, each starting at or before the
// version after the one before it ended (an overlap loads the same
// versions twice, which is harmless).
func Chain(paths []string, infos []Info) error {
	for i, in := range infos {
		if i == 0 {
			if !in.Full() {
				return &ChainError{File: paths[i], Reason: fmt.Sprintf("a restore starts from a full backup; this one is incremental (since version %d)", in.Since)}
			}
			continue
		}
		prev := infos[i-1]
		switch {
		case in.Full():
			return &ChainError{File: paths[i], Reason: "a full backup after the first file: restore it on its own"}
		case in.StoreID != infos[0].StoreID:
			return &ChainError{File: paths[i], Reason: "it is a backup of another store (" + in.StoreID + ", not " + infos[0].StoreID + ")"}
		case in.Since > prev.Until+1:
			return &ChainError{File: paths[i], Reason: fmt.Sprintf("it starts at version %d but %s ends at %d: the versions between are missing", in.Since, paths[i-1], prev.Until)}
		case in.Until < prev.Until:
			return &ChainError{File: paths[i], Reason: fmt.Sprintf("it ends at version %d, before %s (%d): the files are out of order", in.Until, paths[i-1], prev.Until)}
		}
	}
	return nil
}

// RestoreFiles restores the backup files at paths (a full backup, then
// incremental ones, in order) into the empty directory o.Dir. It verifies
// every file (framing, checksum, every chunk authenticated with key) and
// that they make one chain before it loads a byte, then restores (see
// store.Restore: the store's checks run on the result and the cursor key
// is replaced). The restored store is encrypted as o says.
func RestoreFiles(o store.Options, key Key, paths []string) (store.Restored, []Info, error) {
	if len(paths) == 0 {
		return store.Restored{}, nil, errors.New("backup: no backup files given")
	}
	infos := make([]Info, len(paths))
	for i, p := range paths {
		in, err := verifyFile(p, key)
		if err != nil {
			return store.Restored{}, nil, fmt.Errorf("%s: %w", p, err)
		}
		infos[i] = in
	}
	if err := Chain(paths, infos); err != nil {
		return store.Restored{}, infos, err
	}
	var sources []store.RestoreSource
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return store.Restored{}, infos, err
		}
		defer func() { _ = f.Close() }() // read only
		r, err := NewReader(f, key)
		if err != nil {
			return store.Restored{}, infos, fmt.Errorf("%s: %w", p, err)
		}
		sources = append(sources, store.RestoreSource{Stream: r, Records: infos[i].Records})
	}
	rec, err := store.Restore(o, sources)
	return rec, infos, err
}

func verifyFile(path string, key Key) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer func() { _ = f.Close() }() // read only
	return Verify(f, key)
}

// Describe reads a backup file's header and trailer, checking its framing
// and checksum, without the key.
func Describe(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer func() { _ = f.Close() }() // read only
	in, err := Scan(f)
	if err != nil {
		return in, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}
