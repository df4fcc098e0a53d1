package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// restoreCmd is `throughcare-server restore`: offline, it restores backup
// files (a full one, then incremental ones, in order) into an empty data
// directory. Every file is verified whole (checksum, every chunk) and the
// set checked to be one chain before a byte is loaded; the restored store
// passes the store's checks, is encrypted with the key given, and has a
// new cursor key, so every device resets and sends again what the restore
// lost.
func restoreCmd(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server restore", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var from []string
	fs.Func("from", "a backup file; give it again for each incremental one, oldest first, after the full one", func(s string) error {
		from = append(from, s)
		return nil
	})
	data := fs.String("data", "", "the new data directory: it must be empty or not exist")
	keyFile := fs.String("key-file", "", "the key the backups are sealed with, which the restored store is encrypted with (env "+storekey.EnvKeyFile+
		"; default: the data directory's path + .key; or the key itself in "+storekey.EnvKey+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(from) == 0 || *data == "" || fs.NArg() > 0 {
		return errors.New("usage: throughcare-server restore --from FILE [--from INCREMENTAL ...] --data DIR [--key-file FILE]")
	}
	key, err := restoreKey(*data, *keyFile, getenv)
	if err != nil {
		return err
	}
	log := quietLogger(stdout)
	rec, infos, err := backup.RestoreFiles(store.Options{Dir: *data, Logger: log, EncryptionKey: key}, key, from)
	for i, in := range infos {
		fmt.Fprintf(stdout, "%s: store %s, versions %d to %d, %d records, taken %s, key %s: verified\n",
			from[i], in.StoreID, in.Since, in.Until, in.Records, in.CreatedAt.Format("2006-01-02 15:04:05Z"), in.KeyFingerprint)
	}
	if errors.Is(err, store.ErrNotEmpty) {
		return fmt.Errorf("%w: restore into a new directory, then point the server at it", err)
	}
	if err != nil {
		return fmt.Errorf("nothing was restored: %w", err)
	}
	if err := privateDataDir(*data, log); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d records into %s, up to commit %d; the store passed its checks and is encrypted with key %s.\n"+
		"The cursor key is replaced: every device resets on its next sync and sends again what it holds that the backup lacks.\n",
		rec.Records, *data, rec.Commit, key.Fingerprint())
	return nil
}

// restoreKey is the configured key, or the key file beside the data
// directory; a restore never makes a key: it needs the one the backups
// were sealed with.
func restoreKey(data, keyFile string, getenv func(string) string) (storekey.Key, error) {
	k, err := storekey.Load(keyFile, getenv)
	if !errors.Is(err, storekey.ErrNoKey) {
		return k, err
	}
	if _, err := os.Stat(defaultKeyFile(data)); err == nil {
		return storekey.ReadFile(defaultKeyFile(data))
	}
	return storekey.Key{}, errors.New("a restore needs the store key the backups are sealed with: give --key-file FILE (or " + storekey.EnvKeyFile + ")")
}
