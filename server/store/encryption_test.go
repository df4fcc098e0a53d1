package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/storekey"
	"github.com/throughcare/throughcare/server/syncengine"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func newKey(t testing.TB) storekey.Key {
	t.Helper()
	k, err := storekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encryptedOpts(dir string, key storekey.Key) store.Options {
	return store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key}
}

// The conformance suite, on stores encrypted at rest.
func TestEncryptedBadgerConformance(t *testing.T) {
	key := newKey(t)
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		t.Helper()
		s, err := store.Open(encryptedOpts(dir, key))
		if err != nil {
			t.Fatalf("Open(%s): %v", dir, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Personal data that identifies one client, planted by plantPersonalData.
var planted = []string{"Zebediah", "Quillfeather-Okonkwo", "relapsed after release from HMP Wandsworth"}

// plantPersonalData pushes a client with a distinctive name, and contacts
// with a distinctive note, through the engine's merge loop as a push does.
func plantPersonalData(t *testing.T, s store.Store, seed uint64) (client string) {
	t.Helper()
	d := sample.NewDevice("worker-1", time.Now, seed)
	client, chs := d.NewClient("Lambeth")
	chs = append(chs,
		d.Change("client", client, client, "given_name", sample.Str(planted[0]), nil),
		d.Change("client", client, client, "family_name", sample.Str(planted[1]), nil))
	for i := range 50 {
		contact, c := d.NewContact(client, time.Now())
		chs = append(chs, c...)
		chs = append(chs, d.Change("contact", contact, client, "notes", sample.Str(fmt.Sprintf("visit %d: %s", i, planted[2])), nil))
	}
	if _, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs}); err != nil {
		t.Fatal(err)
	}
	return client
}

func findPlanted(t *testing.T, dir string) []string {
	t.Helper()
	return storetest.FilesContaining(t, dir, planted)
}

// TestEncryptedStoreHoldsNoPlaintext plants personal data, and looks for it
// in every file of the data directory: while the store is open (the
// write-ahead log, as a kill would leave it) and after it is closed (the
// tables). Unencrypted, the same data is found: the search works.
func TestEncryptedStoreHoldsNoPlaintext(t *testing.T) {
	tests := []struct {
		name      string
		key       storekey.Key
		wantFound bool
	}{
		{name: "not encrypted", wantFound: true},
		{name: "encrypted", key: newKey(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := store.Open(encryptedOpts(dir, tt.key))
			must(t, err)
			client := plantPersonalData(t, s, 1)
			open := findPlanted(t, storetest.CopyDir(t, dir))
			must(t, s.Close())
			closed := findPlanted(t, dir)
			names, _ := filepath.Glob(filepath.Join(dir, "*"))
			t.Logf("files: %d; found while open: %q; after close: %q", len(names), open, closed)
			if got := len(open) > 0 && len(closed) > 0; got != tt.wantFound {
				t.Errorf("planted data found while open %q, after close %q; want found: %v", open, closed, tt.wantFound)
			}
			if !tt.wantFound && (len(open) > 0 || len(closed) > 0) {
				t.Errorf("planted data in the encrypted store's files: %q %q", open, closed)
			}
			// And the store gives it back to its key.
			s, err = store.Open(encryptedOpts(dir, tt.key))
			must(t, err)
			defer s.Close()
			if n := countRecords(t, s, client); n != 51 {
				t.Errorf("reopened store holds %d records, want 51 (the client and 50 contacts)", n)
			}
		})
	}
}

// countRecords counts the records of every bucket in s.
func countRecords(t *testing.T, s *store.DB, buckets ...string) int {
	t.Helper()
	from := map[string]uint64{}
	for _, b := range buckets {
		from[b] = 0
	}
	n := 0
	for {
		page, err := s.Pull(context.Background(), store.PullQuery{From: from, Limit: 10000})
		must(t, err)
		for _, bp := range page.Buckets {
			n += len(bp.Records)
			from[bp.Bucket] = bp.Position
		}
		if !page.HasMore {
			return n
		}
	}
}

// A key that does not fit the store is refused with a *KeyError, and the
// directory is left byte for byte as it was; a key that fits opens it.
func TestKeyMustFitTheStore(t *testing.T) {
	keyA, keyB := newKey(t), newKey(t)
	var none storekey.Key
	made, clients := map[string]string{}, map[string]string{}
	for name, key := range map[string]storekey.Key{"plain": none, "A": keyA} {
		dir := t.TempDir()
		s, err := store.Open(encryptedOpts(dir, key))
		must(t, err)
		client := plantPersonalData(t, s, 1)
		s2 := storetest.CopyDir(t, dir) // a killed store: its writes in a log
		must(t, s.Close())
		made[name], made[name+", killed"] = dir, s2
		clients[name], clients[name+", killed"] = client, client
	}
	tests := []struct {
		store      string
		dropRecord bool // the store's record of its key deleted
		open       storekey.Key
		want       store.KeyProblem // 0: opens
	}{
		{store: "plain", open: none},
		{store: "plain", open: keyA, want: store.KeyUnexpected},
		{store: "plain, killed", open: keyA, want: store.KeyUnexpected},
		{store: "plain", dropRecord: true, open: keyA, want: store.KeyUnexpected},
		{store: "plain", dropRecord: true, open: none},
		{store: "A", open: keyA},
		{store: "A, killed", open: keyA},
		{store: "A", open: none, want: store.KeyMissing},
		{store: "A", open: keyB, want: store.KeyWrong},
		{store: "A, killed", open: keyB, want: store.KeyWrong},
		{store: "A", dropRecord: true, open: none, want: store.KeyMissing},
		{store: "A", dropRecord: true, open: keyB, want: store.KeyWrong},
		{store: "A", dropRecord: true, open: keyA},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s store, record dropped %v, opened with %v", tt.store, tt.dropRecord, tt.open), func(t *testing.T) {
			dir := storetest.CopyDir(t, made[tt.store])
			if tt.dropRecord {
				must(t, os.Remove(filepath.Join(dir, store.EncryptionFileName)))
			}
			before := storetest.Snapshot(t, dir)
			s, err := store.Open(encryptedOpts(dir, tt.open))
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				if n := countRecords(t, s, clients[tt.store]); n != 51 {
					t.Fatalf("%d records, want 51", n)
				}
				return
			}
			var ke *store.KeyError
			if !errors.As(err, &ke) || !errors.Is(err, store.ErrKey) {
				if err == nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want a *KeyError", err)
			}
			if ke.Problem != tt.want {
				t.Errorf("Problem = %d (%v), want %d", ke.Problem, err, tt.want)
			}
			if ke.Dir != dir || ke.Given != tt.open.Fingerprint() {
				t.Errorf("KeyError = %+v, want dir %s and given %q", ke, dir, tt.open.Fingerprint())
			}
			if !tt.dropRecord && tt.store[0] == 'A' && ke.Recorded != keyA.Fingerprint() {
				t.Errorf("Recorded = %q, want key A's %q", ke.Recorded, keyA.Fingerprint())
			}
			if after := storetest.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("the refused open changed the directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// After RotateKey only the new key opens the store, with everything in
// it; a rotation interrupted after the registry was rewritten (the
// store's record still naming the old key) opens with the new key too.
func TestRotateKey(t *testing.T) {
	keyA, keyB, keyC := newKey(t), newKey(t), newKey(t)
	dir := t.TempDir()
	s, err := store.Open(encryptedOpts(dir, keyA))
	must(t, err)
	first := plantPersonalData(t, s, 1)
	must(t, s.Close())

	if err := store.RotateKey(dir, keyB, keyC); !errors.Is(err, store.ErrKey) {
		t.Fatalf("RotateKey with a key that is not the store's = %v, want ErrKey", err)
	}
	must(t, store.RotateKey(dir, keyA, keyB))
	before := storetest.Snapshot(t, dir)
	if s, err := store.Open(encryptedOpts(dir, keyA)); !errors.Is(err, store.ErrKey) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open with the old key after rotation = %v, want ErrKey", err)
	}
	if after := storetest.Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("the refused open changed the directory")
	}
	if err := store.RotateKey(dir, keyA, keyC); !errors.Is(err, store.ErrKey) {
		t.Fatalf("a second RotateKey from the old key = %v, want ErrKey", err)
	}
	s, err = store.Open(encryptedOpts(dir, keyB))
	must(t, err)
	if n := countRecords(t, s, first); n != 51 {
		t.Fatalf("%d records after rotation, want 51", n)
	}
	second := plantPersonalData(t, s, 2) // writes with the new key on
	must(t, s.Close())
	if found := findPlanted(t, dir); len(found) > 0 {
		t.Errorf("planted data in the files after rotation: %q", found)
	}

	// Interrupted: the registry is B's, the record still A's.
	cp := storetest.CopyDir(t, dir)
	must(t, os.WriteFile(filepath.Join(cp, store.EncryptionFileName), []byte(`{"encrypted":true,"key_fingerprint":"`+keyA.Fingerprint()+`"}`), 0o600))
	s, err = store.Open(encryptedOpts(cp, keyB))
	must(t, err)
	if n := countRecords(t, s, first, second); n != 102 {
		t.Fatalf("%d records, want 102", n)
	}
	must(t, s.Close())
	b, err := os.ReadFile(filepath.Join(cp, store.EncryptionFileName))
	must(t, err)
	if !bytes.Contains(b, []byte(keyB.Fingerprint())) {
		t.Errorf("the record after opening with the new key = %s, want key B's fingerprint %s", b, keyB.Fingerprint())
	}
}
