package syncengine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newEngine(t *testing.T, st store.Store, reg *schema.Registry) *syncengine.Engine {
	t.Helper()
	e, err := syncengine.New(syncengine.Config{Store: st, Schema: reg})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pushOK(t *testing.T, e *syncengine.Engine, id *identity.Identity, chs []*v1.Change) {
	t.Helper()
	resp, err := e.Push(context.Background(), id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			t.Fatalf("push: %v", r)
		}
	}
}

func pullToEnd(t *testing.T, e *syncengine.Engine, id *identity.Identity, cursor []byte) ([]byte, error) {
	t.Helper()
	for {
		resp, err := e.Pull(context.Background(), id, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		cursor = resp.GetCursor()
		if !resp.GetHasMore() {
			return cursor, nil
		}
	}
}

func wantReset(t *testing.T, err error, want v1.ResetReason) {
	t.Helper()
	var reset *syncengine.ResetError
	if !errors.As(err, &reset) || reset.Reason != want {
		t.Fatalf("Pull = %v, want reset %v", err, want)
	}
}

// copyDir copies a closed store's files (a cold backup).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(to, 0o700)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A device that synced past what a restored backup holds must be told to
// reset, not be silently served an older state it would never re-read.
func TestCursorAheadOfRestoredDataAsksForReset(t *testing.T) {
	dir, backup := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	dev := sample.NewDevice("worker", time.Now, 1)
	client, chs := dev.NewClient("Lambeth")
	id := &identity.Identity{Area: "area", UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}

	st := openStore(t, dir)
	pushOK(t, newEngine(t, st, nil), id, chs)
	st.Close()
	copyDir(t, dir, backup)

	st = openStore(t, dir)
	e := newEngine(t, st, nil)
	_, more := dev.NewContact(client, time.Now())
	pushOK(t, e, id, more)
	cursor, err := pullToEnd(t, e, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	restored := openStore(t, backup)
	defer restored.Close()
	_, err = pullToEnd(t, newEngine(t, restored, nil), id, cursor)
	wantReset(t, err, v1.ResetReason_RESET_REASON_CURSOR_UNKNOWN)
	if _, err := pullToEnd(t, newEngine(t, restored, nil), id, nil); err != nil {
		t.Fatalf("pull from an empty cursor after the reset: %v", err)
	}
}

// After an incompatible schema change every older cursor asks for a
// reset; a cursor issued under the new schema does not.
func TestIncompatibleSchemaChangeAsksForReset(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	dev := sample.NewDevice("worker", time.Now, 2)
	client, chs := dev.NewClient("Bristol")
	id := &identity.Identity{Area: "area", UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}
	old := newEngine(t, st, nil)
	pushOK(t, old, id, chs)
	cursor, err := pullToEnd(t, old, id, nil)
	if err != nil {
		t.Fatal(err)
	}

	var types []schema.RecordType
	for _, rt := range schema.Builtin().Types() {
		types = append(types, schema.RecordType{Name: rt.Name, Since: rt.Since, Doc: rt.Doc, Fields: rt.Fields})
	}
	// The next version, compatible only with itself.
	v := uint32(schema.CurrentVersion + 1)
	incompatible, err := schema.New(v, v, types...)
	if err != nil {
		t.Fatal(err)
	}
	next := newEngine(t, st, incompatible)
	_, err = pullToEnd(t, next, id, cursor)
	wantReset(t, err, v1.ResetReason_RESET_REASON_SCHEMA_CHANGED)
	fresh, err := pullToEnd(t, next, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pullToEnd(t, next, id, fresh); err != nil {
		t.Fatalf("cursor issued under the new schema: %v", err)
	}
}
