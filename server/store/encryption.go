package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/throughcare/throughcare/server/storekey"
)

// EncryptionFileName is the file, in the data directory beside Badger's
// own, that records whether the store is encrypted and with which key (by
// its fingerprint, which reveals nothing of the key). Badger's key
// registry (KEYREGISTRY) is what decides whether a key opens the store;
// this record lets a refusal say which key was expected.
const EncryptionFileName = "ENCRYPTION"

// DefaultKeyRotation is how often Badger starts a new data key (the keys,
// themselves encrypted with the master key, that encrypt the files).
const DefaultKeyRotation = 7 * 24 * time.Hour

// encryptionRecord is EncryptionFileName's content.
type encryptionRecord struct {
	Encrypted bool `json:"encrypted"`
	// KeyFingerprint is storekey.Key.Fingerprint of the master key.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
}

func recordFor(k storekey.Key) encryptionRecord {
	return encryptionRecord{Encrypted: !k.IsZero(), KeyFingerprint: k.Fingerprint()}
}

func readEncryptionRecord(dir string) (rec encryptionRecord, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, EncryptionFileName))
	if errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("store: %s in %s does not decode: %w", EncryptionFileName, dir, err)
	}
	return rec, true, nil
}

// writeEncryptionRecord replaces the record, through a synced temporary
// file renamed over it.
func writeEncryptionRecord(dir string, rec encryptionRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, EncryptionFileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, EncryptionFileName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// ErrKey matches (errors.Is) every *KeyError.
var ErrKey = errors.New("store: the key does not fit the store")

// KeyProblem says how a key does not fit a store.
type KeyProblem int

const (
	// KeyMissing: the store is encrypted and no key was given.
	KeyMissing KeyProblem = iota + 1
	// KeyWrong: the store is encrypted with another key.
	KeyWrong
	// KeyUnexpected: the store is not encrypted and a key was given.
	KeyUnexpected
	// KeyRegistryLost: the store is encrypted but its key registry
	// (KEYREGISTRY), without which nothing in it can be decrypted, is
	// missing.
	KeyRegistryLost
)

// KeyError reports a store that Open refused, touching nothing, because
// the key it was given does not fit it. It never holds a key, only
// fingerprints.
type KeyError struct {
	Dir     string
	Problem KeyProblem
	// Recorded is the fingerprint of the key the store records it is
	// encrypted with (empty if it records none); Given that of the key
	// given (empty if none).
	Recorded, Given string
}

func (e *KeyError) Error() string {
	var what string
	switch e.Problem {
	case KeyMissing:
		what = fmt.Sprintf("it is encrypted (key %s) and no key was given: give its key with --key-file or THROUGHCARE_STORE_KEY", orUnknown(e.Recorded))
	case KeyWrong:
		what = fmt.Sprintf("it is encrypted with another key (key %s), not the key given (key %s)", orUnknown(e.Recorded), e.Given)
		switch {
		case e.Given == "":
			what = "it records that it is not encrypted, but its key registry (KEYREGISTRY) is encrypted or damaged: restore from a backup"
		case e.Recorded == e.Given:
			what = fmt.Sprintf("its key registry (KEYREGISTRY) does not accept the key given (key %s), though the store records that key: if a key rotation was interrupted, try the new key; otherwise the key registry is damaged: restore from a backup", e.Given)
		}
	case KeyUnexpected:
		what = fmt.Sprintf("it is not encrypted, and a key was given (key %s): start without a key, or stop and encrypt it first with `throughcare-server encrypt`", e.Given)
	case KeyRegistryLost:
		what = fmt.Sprintf("it is encrypted (key %s) but its key registry (KEYREGISTRY), without which none of it can be decrypted, is missing: restore the data directory from a backup", orUnknown(e.Recorded))
	}
	return fmt.Sprintf("store: refusing to open %s, and nothing in it was changed: %s", e.Dir, what)
}

func orUnknown(fp string) string {
	if fp == "" {
		return "not recorded"
	}
	return fp
}

// Is matches ErrKey.
func (e *KeyError) Is(target error) bool { return target == ErrKey }

// checkKey checks, before anything in dir is changed, that o.EncryptionKey
// fits the store in it (files are Badger's files there), and returns the
// store's key registry, opened read-only, if it is encrypted. A new store
// records the key it will be encrypted with.
func checkKey(o Options, files dirFiles) (*badger.KeyRegistry, error) {
	dir, key := o.Dir, o.EncryptionKey
	rec, recorded, err := readEncryptionRecord(dir)
	if err != nil {
		return nil, err
	}
	keyErr := func(p KeyProblem) error {
		return &KeyError{Dir: dir, Problem: p, Recorded: rec.KeyFingerprint, Given: key.Fingerprint()}
	}
	if !files.any {
		// A new store, or one whose first open stopped before Badger
		// wrote to it: it holds nothing yet, but keeps the key it recorded.
		switch {
		case !recorded:
			return nil, writeEncryptionRecord(dir, recordFor(key))
		case rec != recordFor(key):
			return nil, keyErr(mismatch(rec, key))
		}
		return nil, nil
	}
	if !files.registry {
		// Badger writes its key registry first thing when it opens a new
		// directory; a store without one is one that Badger would take for
		// unencrypted and begin encrypting, or one whose registry is lost.
		switch {
		case rec.Encrypted:
			return nil, keyErr(KeyRegistryLost)
		case !key.IsZero():
			return nil, keyErr(KeyUnexpected)
		}
		return nil, nil
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: key.Bytes()})
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		switch {
		case recorded:
			return nil, keyErr(mismatch(rec, key))
		case key.IsZero():
			return nil, keyErr(KeyMissing)
		case registryPlain(dir):
			return nil, keyErr(KeyUnexpected)
		}
		return nil, keyErr(KeyWrong)
	}
	if err != nil {
		return nil, &DamageError{Dir: dir, Kind: DamageUnreadable, Files: []string{badger.KeyRegistryFileName}, Err: err}
	}
	if want := recordFor(key); !recorded || rec != want {
		// A store written before the record, or a key rotation
		// interrupted after the registry was rewritten: the registry took
		// the key, so the record follows it.
		if recorded {
			o.Logger.Warn().Str("data", dir).Str("key", key.Fingerprint()).Str("recorded", rec.KeyFingerprint).
				Msg("the key registry opens with this key but the store recorded another (an interrupted key rotation?): the record now names this key")
		}
		if err := writeEncryptionRecord(dir, want); err != nil {
			return nil, err
		}
	}
	if key.IsZero() {
		return nil, nil
	}
	return kr, nil
}

// mismatch says how key does not fit a store that recorded rec (KeyWrong
// with the recorded key: the registry refused a key the record names).
func mismatch(rec encryptionRecord, key storekey.Key) KeyProblem {
	switch {
	case rec.Encrypted && key.IsZero():
		return KeyMissing
	case !rec.Encrypted && !key.IsZero():
		return KeyUnexpected
	}
	return KeyWrong
}

// registryPlain reports whether dir's key registry is unencrypted.
func registryPlain(dir string) bool {
	_, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true})
	return err == nil
}

// RotateKey re-encrypts the key registry of the store in dir, which must
// be closed, with the master key next instead of current: the data keys in
// it, and so every file of the store, stay as they are, and from then on
// only next opens the store. The new registry is written to a temporary
// file, synced and renamed over the old one (Badger's WriteKeyRegistry),
// so a crash leaves either the old registry or the new one; the store's
// record of its key follows. A store that current does not open is
// refused, changing nothing (a *KeyError).
func RotateKey(dir string, current, next storekey.Key) error {
	if current.IsZero() || next.IsZero() {
		return errors.New("store: a key rotation needs the current key and the new one")
	}
	if current.Equal(next) {
		return errors.New("store: the new key is the current key")
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	files, err := listDir(dir)
	if err != nil {
		return err
	}
	if !files.any {
		return fmt.Errorf("store: %s holds no store", dir)
	}
	kr, err := checkKey(Options{Dir: dir, EncryptionKey: current}, files)
	if err != nil {
		return err
	}
	if err := badger.WriteKeyRegistry(kr, badger.KeyRegistryOptions{Dir: dir, EncryptionKey: next.Bytes()}); err != nil {
		return fmt.Errorf("store: rewriting the key registry: %w", err)
	}
	return writeEncryptionRecord(dir, recordFor(next))
}

// Exists reports whether dir holds a store (any of Badger's files): a
// directory that is missing or holds none of them is a new store's.
func Exists(dir string) (bool, error) {
	files, err := listDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return files.any, err
}
