package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// Encrypt turns an unencrypted store into an encrypted one holding the
// same data (the same cursor key too, so no device resets), keeps the
// unencrypted one aside, and leaves no planted data in the new directory.
func TestEncrypt(t *testing.T) {
	dir := t.TempDir() + "/data"
	s, err := store.Open(encryptedOpts(dir, storekey.Key{}))
	must(t, err)
	client := plantPersonalData(t, s, 1)
	cursorKey := slices.Clone(s.CursorKey())
	must(t, s.Close())
	key := newKey(t)

	res, err := store.Encrypt(context.Background(), dir, key, zerolog.Nop())
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if res.Keys < 51 || res.PlaintextBackup != dir+store.PlaintextBackupSuffix {
		t.Errorf("Encrypt = %+v, want at least 51 keys and the backup at %s", res, dir+store.PlaintextBackupSuffix)
	}
	if found := findPlanted(t, dir); len(found) > 0 {
		t.Errorf("planted data in the encrypted store: %q", found)
	}
	if found := findPlanted(t, res.PlaintextBackup); len(found) == 0 {
		t.Errorf("no planted data in the unencrypted copy: the test looks in the wrong place")
	}
	if _, err := store.Open(encryptedOpts(dir, storekey.Key{})); !errors.Is(err, store.ErrKey) {
		t.Fatalf("Open without a key after Encrypt = %v, want ErrKey", err)
	}
	s, err = store.Open(encryptedOpts(dir, key))
	must(t, err)
	if n := countRecords(t, s, client); n != 51 {
		t.Errorf("%d records after Encrypt, want 51", n)
	}
	if !slices.Equal(s.CursorKey(), cursorKey) {
		t.Errorf("Encrypt changed the cursor key: every device would reset")
	}
	plantPersonalData(t, s, 2) // and it takes writes
	must(t, s.Close())

	// Encrypting it again is refused: while the unencrypted copy is
	// there, and after it is gone since the store is encrypted already.
	if _, err := store.Encrypt(context.Background(), dir, newKey(t), zerolog.Nop()); err == nil {
		t.Fatal("a second Encrypt worked")
	}
	must(t, os.Rename(res.PlaintextBackup, res.PlaintextBackup+"-shredded"))
	if _, err := store.Encrypt(context.Background(), dir, newKey(t), zerolog.Nop()); !errors.Is(err, store.ErrKey) {
		t.Fatalf("Encrypt of an encrypted store = %v, want ErrKey", err)
	}
	must(t, os.Rename(res.PlaintextBackup+"-shredded", res.PlaintextBackup))
	// Stopped between the two renames: the next Encrypt finishes.
	must(t, os.Rename(dir, dir+".encrypting"))
	if _, err := store.Encrypt(context.Background(), dir, key, zerolog.Nop()); err != nil {
		t.Fatalf("Encrypt after a stop between the renames: %v", err)
	}
	s, err = store.Open(encryptedOpts(dir, key))
	must(t, err)
	defer s.Close()
	if n := countRecords(t, s, client); n != 51 {
		t.Errorf("%d records after the finished Encrypt, want 51", n)
	}
}
