package local

import (
	"bytes"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// keys lists the keys an iterator with o visits, from a Seek to seek if
// given.
func keys(t *testing.T, db *DB, o IterOptions, seek []byte) []string {
	t.Helper()
	var out []string
	must(t, db.View(func(txn *Txn) error {
		it := txn.NewIterator(o)
		defer it.Close()
		if seek != nil {
			it.Seek(seek)
		} else {
			it.Rewind()
		}
		for ; it.Valid(); it.Next() {
			v, err := it.ValueCopy()
			if err != nil {
				return err
			}
			if !bytes.Equal(v, append([]byte("v"), it.Key()...)) || !bytes.Equal(it.KeyCopy(), it.Key()) {
				t.Errorf("key %q holds %q", it.Key(), v)
			}
			out = append(out, string(it.Key()))
		}
		return nil
	}))
	return out
}

// The store keeps what a transaction or a batch wrote, iterates by prefix
// in either direction, and survives a reopen only with its key.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, key(1), false)
	must(t, err)
	must(t, db.Update(func(txn *Txn) error {
		for _, k := range []string{"a1", "a2", "a3", "b1"} {
			if err := txn.Set([]byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}))
	b := db.NewBatch()
	must(t, b.Set([]byte("a4"), []byte("va4")))
	must(t, b.Delete([]byte("b1")))
	must(t, b.Flush())
	must(t, db.Sync())

	for _, tc := range []struct {
		name string
		o    IterOptions
		seek []byte
		want string
	}{
		{"prefix", IterOptions{Prefix: []byte("a")}, nil, "a1 a2 a3 a4"},
		{"prefetching", IterOptions{Prefix: []byte("a"), PrefetchValues: true, PrefetchSize: 2}, nil, "a1 a2 a3 a4"},
		{"seek", IterOptions{Prefix: []byte("a")}, []byte("a3"), "a3 a4"},
		{"reverse", IterOptions{Prefix: []byte("a"), Reverse: true}, []byte("a3"), "a3 a2 a1"},
		{"deleted by the batch", IterOptions{Prefix: []byte("b")}, nil, ""},
	} {
		got := ""
		for i, k := range keys(t, db, tc.o, tc.seek) {
			if i > 0 {
				got += " "
			}
			got += k
		}
		if got != tc.want {
			t.Errorf("%s: keys %q, want %q", tc.name, got, tc.want)
		}
	}
	must(t, db.Update(func(txn *Txn) error { return txn.Delete([]byte("a1")) }))
	must(t, db.Close())

	if _, err := Open(dir, key(2), false); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey", err)
	}
	db, err = Open(dir, key(1), false)
	must(t, err)
	must(t, db.View(func(txn *Txn) error {
		for _, tc := range []struct {
			k      string
			want   string
			wantOK bool
		}{{"a1", "", false}, {"a2", "va2", true}, {"zz", "", false}} {
			v, ok, err := txn.Get([]byte(tc.k))
			if err != nil || ok != tc.wantOK || string(v) != tc.want {
				t.Errorf("Get(%s) = %q, %v, %v; want %q, %v", tc.k, v, ok, err, tc.want, tc.wantOK)
			}
		}
		return nil
	}))
	must(t, db.Close())
	if err := db.View(func(*Txn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
}

// A key's version is absent before it is written and rises with every
// write of it, even of the same value.
func TestVersion(t *testing.T) {
	db, err := Open("", key(1), true)
	must(t, err)
	defer db.Close()
	version := func() (uint64, bool) {
		var (
			v  uint64
			ok bool
		)
		must(t, db.View(func(txn *Txn) error {
			var err error
			v, ok, err = txn.Version([]byte("k"))
			return err
		}))
		return v, ok
	}
	if _, ok := version(); ok {
		t.Fatal("a key never written has a version")
	}
	var last uint64
	for i := range 3 {
		must(t, db.Update(func(txn *Txn) error { return txn.Set([]byte("k"), []byte("same")) }))
		v, ok := version()
		if !ok || v <= last {
			t.Fatalf("write %d: version %d (present %v), want more than %d", i, v, ok, last)
		}
		last = v
	}
}
