package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDamaged matches (errors.Is) every *DamageError.
var ErrDamaged = errors.New("store: the data directory is damaged")

// DamageKind says what Open found wrong with a data directory.
type DamageKind int

const (
	// DamageShortfall: the store holds fewer commits than its
	// acknowledgement record says were acknowledged: a write-ahead log
	// file (.mem) was truncated, damaged or deleted, and Badger replayed
	// less than it had synced.
	DamageShortfall DamageKind = iota + 1
	// DamageNoMetadata: Badger opened the directory without the store's
	// metadata in it, though the directory held a store (Badger's files or
	// an acknowledgement record saying writes were acknowledged). It is
	// never treated as a new, empty store.
	DamageNoMetadata
	// DamageManifestMissing: the directory holds tables (.sst) but no
	// MANIFEST listing them; Badger would delete them.
	DamageManifestMissing
	// DamageManifest: the MANIFEST cannot be read, or lists tables whose
	// files are missing.
	DamageManifest
	// DamageTablesUnrecorded: tables the MANIFEST does not list hold writes
	// that no write-ahead log holds any more (the MANIFEST lost its end);
	// Badger would delete them.
	DamageTablesUnrecorded
	// DamageTable: a table fails its checksums.
	DamageTable
	// DamageWAL: a write-ahead log file that a newer one follows is
	// damaged: its replay would stop at the damage and drop the writes
	// after it, and the newer log would hide the loss.
	DamageWAL
	// DamageAckRecord: the acknowledgement record (AckFileName) is missing
	// or unreadable, so what Badger replayed cannot be checked against it.
	DamageAckRecord
	// DamageUnreadable: Badger failed while opening the directory.
	DamageUnreadable
)

// DamageError reports a data directory the store refuses to open: serving
// it would serve less than was acknowledged, or lose more.
type DamageError struct {
	// Dir is the data directory.
	Dir  string
	Kind DamageKind
	// Files names the files concerned, in Dir.
	Files []string
	// Stored and Acknowledged are, for DamageShortfall and
	// DamageNoMetadata, the number of the last commit the store holds and
	// of the last one its acknowledgement record says was acknowledged.
	Stored, Acknowledged uint64
	// Err is what reading a file failed with, if that is the damage.
	Err error
}

func (e *DamageError) Error() string {
	var what string
	files := strings.Join(e.Files, ", ")
	switch e.Kind {
	case DamageShortfall:
		what = fmt.Sprintf("its write-ahead log ends early: the store holds commits up to number %d, but its "+
			"acknowledgement record says commits up to number %d were acknowledged, so acknowledged writes are missing "+
			"(a write-ahead log file, .mem, was truncated, damaged or deleted)", e.Stored, e.Acknowledged)
	case DamageNoMetadata:
		what = "Badger opened it without the store's metadata, though it held a store"
		if e.Acknowledged > 0 {
			what += fmt.Sprintf(" (commits up to number %d were acknowledged)", e.Acknowledged)
		}
		what += ": its MANIFEST or a write-ahead log file was lost or damaged; it is not treated as a new store"
	case DamageManifestMissing:
		what = fmt.Sprintf("it holds tables (%s) but no MANIFEST listing them", files)
	case DamageManifest:
		what = "its MANIFEST cannot be read"
		if len(e.Files) > 0 {
			what = fmt.Sprintf("its MANIFEST lists tables whose files are missing (%s)", files)
		}
	case DamageTablesUnrecorded:
		what = fmt.Sprintf("its MANIFEST lost its end: tables it does not list (%s) hold writes no write-ahead log holds", files)
	case DamageTable:
		what = fmt.Sprintf("the table %s fails its checksums", files)
	case DamageWAL:
		what = fmt.Sprintf("the write-ahead log %s is damaged and a newer one follows it: the writes after the damage would be lost", files)
	case DamageAckRecord:
		what = fmt.Sprintf("its acknowledgement record %s is missing or unreadable, so it cannot be checked for lost writes", AckFileName)
	case DamageUnreadable:
		what = "Badger failed while opening it"
	default:
		what = "it is damaged"
	}
	msg := fmt.Sprintf("store: the data directory %s is damaged: %s", e.Dir, what)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

// Unwrap returns what reading a file failed with, if anything.
func (e *DamageError) Unwrap() error { return e.Err }

// Is matches ErrDamaged.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// Acceptable reports whether Options.AcceptDataLoss lets Open go on
// despite the damage, with what is left: for the other kinds Badger cannot
// open the directory, or there would be no store left to open.
func (e *DamageError) Acceptable() bool {
	switch e.Kind {
	case DamageShortfall, DamageTablesUnrecorded, DamageWAL, DamageAckRecord:
		return true
	}
	return false
}
