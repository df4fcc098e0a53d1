// Package storekey owns the store's master key: the 32-byte AES-256 key
// that encrypts the Badger store at rest (and, through the backup command,
// the server's backups). It reads the key from the environment variable
// THROUGHCARE_STORE_KEY or from a key file, refuses a key file others can
// read, creates new key files, and names a key by a short fingerprint that
// is safe to print.
//
// Both the variable and the file hold the key as 64 hexadecimal digits
// (what `openssl rand -hex 32` prints); surrounding white space, such as a
// final newline, is ignored. Nothing in this package ever prints, logs or
// puts the key itself into an error.
package storekey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	// Size is the length of a key in bytes (AES-256).
	Size = 32
	// EnvKey is the environment variable that holds the key itself.
	EnvKey = "THROUGHCARE_STORE_KEY"
	// EnvKeyFile is the environment variable that names the key file (the
	// --key-file flag wins over it).
	EnvKeyFile = "THROUGHCARE_KEY_FILE"
	// maxFileSize bounds what is read from a key file: a key file is 64
	// digits and a newline, and anything much longer is not one.
	maxFileSize = 1024
)

// ErrNoKey is returned by Load when neither a key file nor
// THROUGHCARE_STORE_KEY is given.
var ErrNoKey = errors.New("storekey: no store key configured (--key-file, " + EnvKeyFile + " or " + EnvKey + ")")

// Key is a store master key. Its zero value is no key (IsZero). Printing a
// Key with any fmt verb shows only its fingerprint.
type Key struct {
	b   [Size]byte
	set bool
}

// FromBytes makes a Key from b, which must be Size bytes long.
func FromBytes(b []byte) (Key, error) {
	if len(b) != Size {
		return Key{}, &FormatError{Source: "key bytes", Reason: fmt.Sprintf("a key is %d bytes, not %d", Size, len(b))}
	}
	var k Key
	copy(k.b[:], b)
	k.set = true
	return k, nil
}

// Generate returns a fresh random key.
func Generate() (Key, error) {
	var k Key
	if _, err := io.ReadFull(rand.Reader, k.b[:]); err != nil {
		return Key{}, fmt.Errorf("storekey: reading random bytes: %w", err)
	}
	k.set = true
	return k, nil
}

// IsZero reports whether k is no key.
func (k Key) IsZero() bool { return !k.set }

// Bytes returns a copy of the key, for the cipher that uses it (nil for
// the zero Key).
func (k Key) Bytes() []byte {
	if !k.set {
		return nil
	}
	return append([]byte(nil), k.b[:]...)
}

// Equal reports whether k and o are the same key, in constant time.
func (k Key) Equal(o Key) bool {
	return k.set == o.set && subtle.ConstantTimeCompare(k.b[:], o.b[:]) == 1
}

// Fingerprint names the key without revealing it: the first 8 bytes of the
// SHA-256 of the key, in hex (16 digits). It is empty for the zero Key.
func (k Key) Fingerprint() string {
	if !k.set {
		return ""
	}
	sum := sha256.Sum256(k.b[:])
	return hex.EncodeToString(sum[:8])
}

// String shows the fingerprint only.
func (k Key) String() string {
	if !k.set {
		return "storekey.Key(none)"
	}
	return "storekey.Key(" + k.Fingerprint() + ")"
}

// GoString shows the fingerprint only (%#v).
func (k Key) GoString() string { return k.String() }

// Format shows the fingerprint only, whatever the verb (%x and %s
// included).
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// Parse reads a key written as 64 hexadecimal digits; source names where
// the text came from, for the error (it never holds the text).
func Parse(source, text string) (Key, error) {
	t := strings.TrimSpace(text)
	if len(t) != 2*Size {
		return Key{}, &FormatError{Source: source, Reason: fmt.Sprintf("a key is %d hexadecimal digits, this has %d characters", 2*Size, len(t))}
	}
	var k Key
	if _, err := hex.Decode(k.b[:], []byte(t)); err != nil {
		return Key{}, &FormatError{Source: source, Reason: "a key is hexadecimal digits (0-9, a-f) only"}
	}
	k.set = true
	return k, nil
}

// Load returns the configured key: from the key file at path, or, if path
// is empty, the one named by THROUGHCARE_KEY_FILE, or else the key in
// THROUGHCARE_STORE_KEY. It returns ErrNoKey if none is configured, and an
// error if both a key file and THROUGHCARE_STORE_KEY are (one key, one
// place). A key file must be a regular file its group and others cannot
// read (a *PermissionError otherwise).
func Load(path string, getenv func(string) string) (Key, error) {
	if path == "" {
		path = getenv(EnvKeyFile)
	}
	env := getenv(EnvKey)
	switch {
	case path != "" && env != "":
		return Key{}, fmt.Errorf("storekey: both a key file (%s) and %s are set: give the key one way", path, EnvKey)
	case path != "":
		return ReadFile(path)
	case env != "":
		return Parse(EnvKey, env)
	}
	return Key{}, ErrNoKey
}

// ReadFile reads the key file at path, refusing one that is not a regular
// file or that its group or others can read or write.
func ReadFile(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, fmt.Errorf("storekey: reading the key file: %w", err)
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it loses nothing
	fi, err := f.Stat()              // of the file opened, not of whatever the path names now
	if err != nil {
		return Key{}, fmt.Errorf("storekey: reading the key file: %w", err)
	}
	if err := checkMode(path, fi); err != nil {
		return Key{}, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Key{}, fmt.Errorf("storekey: reading the key file %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return Key{}, &FormatError{Source: path, Reason: fmt.Sprintf("a key file is %d hexadecimal digits, this one is longer than %d bytes", 2*Size, maxFileSize)}
	}
	return Parse(path, string(b))
}

func checkMode(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &PermissionError{Path: path, Mode: fi.Mode(), Reason: "is not a regular file"}
	}
	if runtime.GOOS == "windows" { // no Unix permission bits to check
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &PermissionError{Path: path, Mode: fi.Mode(), Reason: "can be read or written by its group or others; make it readable by the server's user only (chmod 600)"}
	}
	return nil
}

// Create writes a fresh random key to a new key file at path, readable and
// writable by its owner only, synced to disk, and returns the key. It never
// replaces an existing file.
func Create(path string) (Key, error) {
	k, err := Generate()
	if err != nil {
		return Key{}, err
	}
	if err := WriteFile(path, k); err != nil {
		return Key{}, err
	}
	return k, nil
}

// WriteFile writes k to a new key file at path (mode 0600), synced to
// disk, with its directory; it refuses to replace an existing file.
func WriteFile(path string, k Key) (err error) {
	if k.IsZero() {
		return errors.New("storekey: no key to write")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("storekey: %s already exists: a key file is never overwritten (its key may be the only way into a store)", path)
	}
	if err != nil {
		return fmt.Errorf("storekey: creating the key file: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(path))
		}
	}()
	// The umask may have kept bits off, never put them on; chmod anyway in
	// case the file system ignored the mode.
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return errors.Join(fmt.Errorf("storekey: creating the key file: %w", err), f.Close())
	}
	if _, err := f.WriteString(hex.EncodeToString(k.b[:]) + "\n"); err != nil {
		return errors.Join(fmt.Errorf("storekey: writing the key file %s: %w", path, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("storekey: syncing the key file %s: %w", path, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storekey: writing the key file %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storekey: syncing %s: %w", dir, err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("storekey: syncing %s: %w", dir, err)
	}
	return nil
}

// PermissionError is a key file that is not safe to use: not a regular
// file, or readable or writable by others than its owner.
type PermissionError struct {
	Path   string
	Mode   fs.FileMode
	Reason string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("storekey: refusing the key file %s (mode %s, %04o): it %s", e.Path, e.Mode, e.Mode.Perm(), e.Reason)
}

// FormatError is a key that is not 32 bytes written as 64 hexadecimal
// digits. Source is the key file's path or the variable's name; the error
// never holds the text that was read.
type FormatError struct {
	Source string
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("storekey: the key in %s is not a %d-byte key: %s", e.Source, Size, e.Reason)
}
