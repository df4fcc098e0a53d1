package store

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/internal/badgerdir"
)

// dirState is what Open found in the data directory before Badger opened
// it.
type dirState struct {
	// acked is the acknowledgement record's number; ackFound is set if
	// there is a record, and ackErr if it cannot be read.
	acked    uint64
	ackFound bool
	ackErr   error
	// hadStore is set if the directory held a store: tables, or Badger's
	// files without an acknowledgement record (written before Badger
	// first opens a directory), or a record saying writes were
	// acknowledged.
	hadStore bool
	// accepted is the damage Options.AcceptDataLoss let Open go on with.
	accepted []*DamageError
	// registry is the key registry of an encrypted store, opened
	// read-only: the data keys its tables and logs are encrypted with.
	registry *badger.KeyRegistry
}

// dirFiles are Badger's files in a data directory.
type dirFiles struct {
	tables   map[uint64]string // by table id
	wals     []string          // write-ahead logs (.mem), oldest first
	manifest bool
	registry bool // a key registry (KEYREGISTRY)
	any      bool // any of Badger's files
}

func listDir(dir string) (dirFiles, error) {
	f := dirFiles{tables: map[uint64]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return f, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".sst"):
			if id, ok := table.ParseFileID(name); ok {
				f.tables[id] = name
			}
		case strings.HasSuffix(name, ".mem"):
			if _, err := strconv.Atoi(strings.TrimSuffix(name, ".mem")); err == nil {
				f.wals = append(f.wals, name)
			}
		case name == badger.ManifestFilename:
			f.manifest = true
		case name == badger.KeyRegistryFileName:
			f.registry = true
		case strings.HasSuffix(name, ".vlog"), name == "DISCARD":
		default:
			continue
		}
		f.any = true
	}
	slices.SortFunc(f.wals, func(a, b string) int { return walFid(a) - walFid(b) })
	return f, nil
}

func walFid(name string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(name, ".mem"))
	return n
}

// inspectDir checks the data directory before Badger opens it, since
// Badger itself deletes tables its MANIFEST does not list, silently drops
// what follows damage in a write-ahead log, and panics in its own
// goroutines on a damaged table. It removes empty log files a kill left
// behind (badgerdir.RemoveEmptyLogs), and creates the acknowledgement
// record of a new directory before Badger first writes to it.
func inspectDir(o Options) (*dirState, error) {
	dir := o.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	// First, before anything in dir changes: a key that does not fit is
	// refused with the directory as it was.
	registry, err := checkKey(o, files)
	if err != nil {
		return nil, err
	}
	removed, err := badgerdir.RemoveEmptyLogs(dir)
	for _, name := range removed {
		o.Logger.Warn().Str("data", dir).Str("file", name).
			Msg("removed an empty log file left by a kill while the store was opening (it held nothing)")
	}
	if err != nil {
		return nil, err
	}
	if files, err = listDir(dir); err != nil {
		return nil, err
	}
	st := &dirState{registry: registry}
	st.acked, st.ackFound, st.ackErr = readAckFile(dir)
	st.hadStore = len(files.tables) > 0 || (st.ackFound && (st.ackErr != nil || st.acked > 0)) || (!st.ackFound && files.any)
	if !files.any && !st.ackFound {
		a, err := createAckFile(dir, 0)
		if err != nil {
			return nil, err
		}
		st.ackFound = true
		return st, a.close()
	}
	if err := checkFiles(dir, files, o, st); err != nil {
		return nil, err
	}
	return st, nil
}

// checkFiles checks the MANIFEST, the tables and the write-ahead logs.
// Damage that Options.AcceptDataLoss lets Open go on with is added to
// st.accepted; tables the MANIFEST does not list are then moved aside
// rather than left for Badger to delete.
func checkFiles(dir string, files dirFiles, o Options, st *dirState) error {
	mf, err := checkManifest(dir, files)
	if err != nil {
		return err
	}
	unlisted, listedMax, err := checkTables(dir, files, mf, st.registry, o.Logger)
	if err != nil {
		return err
	}
	wals, err := scanWALs(dir, files.wals, st.registry)
	if err != nil {
		return err
	}
	for i, w := range wals[:max(len(wals)-1, 0)] {
		if w.Trailing {
			if err := accept(o, st, &DamageError{Dir: dir, Kind: DamageWAL, Files: files.wals[i : i+1]}); err != nil {
				return err
			}
		}
	}
	var unrecorded []string
	for id, v := range unlisted {
		if v > listedMax && !walsHold(wals, v) {
			unrecorded = append(unrecorded, files.tables[id])
		}
	}
	if len(unrecorded) == 0 {
		return nil
	}
	slices.Sort(unrecorded)
	if err := accept(o, st, &DamageError{Dir: dir, Kind: DamageTablesUnrecorded, Files: unrecorded}); err != nil {
		return err
	}
	return setAside(dir, unrecorded, o.Logger)
}

// checkManifest reads the MANIFEST and checks that the tables it lists
// are there, and that there is one if there are tables.
func checkManifest(dir string, files dirFiles) (badger.Manifest, error) {
	var mf badger.Manifest
	if !files.manifest {
		if len(files.tables) > 0 {
			return mf, &DamageError{Dir: dir, Kind: DamageManifestMissing, Files: sortedNames(files.tables)}
		}
		return mf, nil
	}
	mf, err := readManifest(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return mf, &DamageError{Dir: dir, Kind: DamageManifest, Err: err}
	}
	var missing []string
	for id := range mf.Tables {
		if _, ok := files.tables[id]; !ok {
			missing = append(missing, table.IDToFilename(id))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return mf, &DamageError{Dir: dir, Kind: DamageManifest, Files: missing}
	}
	return mf, nil
}

// checkTables reads every table through (verifyTable). A table the
// MANIFEST lists must read back whole; one it does not list that does not
// was being written when Badger was killed, and Badger deletes it. It
// returns the highest version of each table the MANIFEST does not list
// that reads back, and the highest of the tables it lists.
//
// An encrypted store's tables are read with their data keys from kr (nil
// for a store that is not encrypted): the key the MANIFEST records for a
// table it lists, and for one it does not, each key in turn.
func checkTables(dir string, files dirFiles, mf badger.Manifest, kr *badger.KeyRegistry, log zerolog.Logger) (unlisted map[uint64]uint64, listedMax uint64, err error) {
	unlisted = map[uint64]uint64{}
	cache, err := newIndexCache(kr != nil)
	if err != nil {
		return nil, 0, err
	}
	if cache != nil {
		defer cache.Close()
	}
	for _, id := range slices.Sorted(maps.Keys(files.tables)) {
		tm, listed := mf.Tables[id]
		compression, keys := options.Snappy, dataKeys(kr)
		if listed {
			compression = tm.Compression
			if keys, err = tableKey(kr, tm.KeyID); err != nil {
				return nil, 0, &DamageError{Dir: dir, Kind: DamageTable, Files: []string{files.tables[id]}, Err: err}
			}
		}
		var v uint64
		for _, dk := range keys {
			if v, err = verifyTable(filepath.Join(dir, files.tables[id]), compression, dk, cache); err == nil {
				break
			}
		}
		switch {
		case err != nil && listed:
			return nil, 0, &DamageError{Dir: dir, Kind: DamageTable, Files: []string{files.tables[id]}, Err: err}
		case err != nil:
			log.Info().Str("data", dir).Str("file", files.tables[id]).
				Msg("a table left half-written by a kill will be deleted (the MANIFEST does not list it)")
		case listed:
			listedMax = max(listedMax, v)
		default:
			unlisted[id] = v
		}
	}
	return unlisted, listedMax, nil
}

// accept adds d to st.accepted if Options.AcceptDataLoss allows it, and
// returns it otherwise.
func accept(o Options, st *dirState, d *DamageError) error {
	if !o.AcceptDataLoss || !d.Acceptable() {
		return d
	}
	st.accepted = append(st.accepted, d)
	return nil
}

func scanWALs(dir string, names []string, kr *badger.KeyRegistry) ([]walScan, error) {
	out := make([]walScan, len(names))
	for i, name := range names {
		w, err := scanWAL(filepath.Join(dir, name), kr)
		if err != nil {
			return nil, err
		}
		out[i] = w
	}
	return out, nil
}

// walsHold reports whether a write-ahead log holds a transaction at
// version v, or might (an encrypted log is not read).
//
// A table the MANIFEST does not list is left by a kill while Badger was
// writing it: a memtable being flushed, whose write-ahead log goes only
// once the table is listed (so a log then holds the table's newest
// version); or a compaction, whose output holds only versions the tables
// it compacts, still listed, hold too (so at most the newest listed
// version). A table that is neither was listed by a part of the MANIFEST
// that is lost, and its writes with it.
func walsHold(wals []walScan, v uint64) bool {
	for _, w := range wals {
		if w.Encrypted || (w.MinVersion <= v && v <= w.MaxVersion) {
			return true
		}
	}
	return false
}

// tableKey is the data key a table the MANIFEST records with keyID is
// encrypted with (nil: none), from kr.
func tableKey(kr *badger.KeyRegistry, keyID uint64) ([]*pb.DataKey, error) {
	if keyID == 0 {
		return []*pb.DataKey{nil}, nil
	}
	if kr == nil {
		return nil, fmt.Errorf("the MANIFEST says it is encrypted (data key %d), but the store is not", keyID)
	}
	dk, err := kr.DataKey(keyID)
	if err != nil {
		return nil, err
	}
	return []*pb.DataKey{dk}, nil
}

// dataKeys are every data key in kr, newest first (just nil, no key, if
// kr is nil: the store is not encrypted). Badger numbers its data keys
// from 1 up.
func dataKeys(kr *badger.KeyRegistry) []*pb.DataKey {
	if kr == nil {
		return []*pb.DataKey{nil}
	}
	var keys []*pb.DataKey
	for id := uint64(1); ; id++ {
		dk, err := kr.DataKey(id)
		if err != nil || dk == nil {
			break
		}
		keys = append(keys, dk)
	}
	slices.Reverse(keys)
	return keys
}

// setAside moves tables Badger would delete into a new directory in dir,
// so that their writes are kept for whoever recovers the store by hand.
func setAside(dir string, names []string, log zerolog.Logger) error {
	aside, err := os.MkdirTemp(dir, "set-aside-")
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	log.Warn().Str("data", dir).Str("moved_to", aside).Strs("files", names).
		Msg("tables the MANIFEST does not list were moved aside (--accept-data-loss); the store opens without their writes")
	return nil
}

func sortedNames(m map[uint64]string) []string {
	out := make([]string, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[id])
	}
	return out
}
