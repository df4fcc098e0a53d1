package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// defaultKeyFile is where the server keeps the store key when none is
// configured: beside the data directory, not in it, so that a copy of the
// data directory alone cannot be read.
func defaultKeyFile(data string) string { return filepath.Clean(data) + ".key" }

// storeKey is the key the store in data opens with: the configured one
// (keyFile, THROUGHCARE_KEY_FILE or THROUGHCARE_STORE_KEY); or else the
// key file beside the data directory (defaultKeyFile) if there is one; or
// else, for a new store, a key file created there, with a warning to move
// it somewhere safe. An existing store with no key anywhere opens
// unencrypted, or is refused if it is encrypted. The key is never logged,
// only its fingerprint.
func storeKey(data, keyFile string, getenv func(string) string, log zerolog.Logger) (storekey.Key, error) {
	k, err := storekey.Load(keyFile, getenv)
	if !errors.Is(err, storekey.ErrNoKey) {
		return k, err
	}
	def := defaultKeyFile(data)
	if _, err := os.Stat(def); err == nil {
		return storekey.ReadFile(def)
	}
	existing, err := store.Exists(data)
	if err != nil || existing {
		return storekey.Key{}, err
	}
	if k, err = storekey.Create(def); err != nil {
		return k, fmt.Errorf("no store key is configured, and creating one for the new store failed (%w): "+
			"create one with `throughcare-server new-key --key-file FILE` where the server can read it, and give --key-file FILE", err)
	}
	log.Warn().Str("key_file", def).Str("key", k.Fingerprint()).
		Msg("the new store is encrypted with a key created beside the data directory: move the key file somewhere safe (never into the same backup as the data), " +
			"keep a copy offline, and point --key-file (or THROUGHCARE_KEY_FILE) at it; without it nothing in the store can be read")
	return k, nil
}

// logEncryption says with which key the store is encrypted, or what to
// do about a store that is not.
func logEncryption(data string, key storekey.Key, log zerolog.Logger) {
	if key.IsZero() {
		log.Warn().Str("data", data).
			Msg("the store is not encrypted at rest: stop the server and run `throughcare-server encrypt --data DIR --key-file FILE` to encrypt it")
		return
	}
	log.Info().Str("data", data).Str("key", key.Fingerprint()).Msg("the store is encrypted at rest")
}

// encryptCmd is `throughcare-server encrypt`: it encrypts an unencrypted
// store offline (store.Encrypt), with the configured key, or else the key
// file beside the data directory, created if it does not exist.
func encryptCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server encrypt", flag.ContinueOnError)
	fs.SetOutput(stdout)
	data := dataFlag(fs, getenv)
	keyFile := fs.String("key-file", "", "the key file to encrypt with, created if it does not exist (env "+storekey.EnvKeyFile+"; default: the data directory's path + .key; or the key itself in "+storekey.EnvKey+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, created, err := keyOrNew(*keyFile, defaultKeyFile(*data), getenv)
	if err != nil {
		return err
	}
	if created != "" {
		fmt.Fprintf(stdout, "created the key file %s (key %s): keep it safe and give it to the server with --key-file\n", created, key.Fingerprint())
	}
	res, err := store.Encrypt(ctx, *data, key, quietLogger(stdout))
	if errors.Is(err, store.ErrKey) {
		return fmt.Errorf("%s is encrypted already, or its key registry is damaged (%w)", *data, err)
	}
	if err != nil {
		return damaged(err)
	}
	fmt.Fprintf(stdout, "encrypted %s with key %s: %d keys copied and checked\n", *data, key.Fingerprint(), res.Keys)
	if res.PlaintextBackup != "" && res.Keys > 0 {
		fmt.Fprintf(stdout, "the unencrypted store is now in %s: once the server has started on the encrypted store, shred it:\n"+
			"  find %s -type f -exec shred -u {} + && rm -r %s\n", res.PlaintextBackup, res.PlaintextBackup, res.PlaintextBackup)
	}
	return nil
}

// rotateKeyCmd is `throughcare-server rotate-key`: it re-encrypts the
// store's key registry with a new master key (store.RotateKey), offline.
func rotateKeyCmd(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server rotate-key", flag.ContinueOnError)
	fs.SetOutput(stdout)
	data := dataFlag(fs, getenv)
	keyFile := fs.String("key-file", "", "the store's current key file (env "+storekey.EnvKeyFile+"; default: the data directory's path + .key; or the key itself in "+storekey.EnvKey+")")
	newKeyFile := fs.String("new-key-file", "", "the new key file, created if it does not exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *newKeyFile == "" {
		return errors.New("rotate-key needs --new-key-file FILE (created if it does not exist)")
	}
	current, err := storekey.Load(*keyFile, getenv)
	if errors.Is(err, storekey.ErrNoKey) {
		current, err = storekey.ReadFile(defaultKeyFile(*data))
	}
	if err != nil {
		return err
	}
	next, created, err := keyOrNew(*newKeyFile, "", func(string) string { return "" })
	if err != nil {
		return err
	}
	if created != "" {
		fmt.Fprintf(stdout, "created the key file %s (key %s)\n", created, next.Fingerprint())
	}
	if err := store.RotateKey(*data, current, next); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the store in %s is now encrypted with key %s (from %s); key %s no longer opens it.\n"+
		"Start the server with --key-file %s. Keep the old key for as long as you keep backups made with it.\n",
		*data, next.Fingerprint(), *newKeyFile, current.Fingerprint(), *newKeyFile)
	return nil
}

// newKeyCmd is `throughcare-server new-key`: it writes a new random key
// to a new key file (mode 0600).
func newKeyCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server new-key", flag.ContinueOnError)
	fs.SetOutput(stdout)
	keyFile := fs.String("key-file", "", "the key file to create (it must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" {
		return errors.New("new-key needs --key-file FILE")
	}
	k, err := storekey.Create(*keyFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created the key file %s (key %s)\n", *keyFile, k.Fingerprint())
	return nil
}

// keyOrNew loads the configured key (keyFile, or the environment), or
// the one in def if none is configured; a key file that does not exist is
// created, and its path returned.
func keyOrNew(keyFile, def string, getenv func(string) string) (k storekey.Key, created string, err error) {
	path := keyFile
	if path == "" {
		path = getenv(storekey.EnvKeyFile)
	}
	if path == "" && getenv(storekey.EnvKey) == "" {
		path = def
	}
	if path != "" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			k, err := storekey.Create(path)
			return k, path, err
		}
	}
	k, err = storekey.Load(path, getenv)
	return k, "", err
}

func dataFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("data", envOr(getenv, "THROUGHCARE_DATA", "./data"), "data directory (env THROUGHCARE_DATA); the server must be stopped")
}

// quietLogger writes the store's warnings, without timestamps, to out.
func quietLogger(out io.Writer) zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: out, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}}).Level(zerolog.WarnLevel)
}
