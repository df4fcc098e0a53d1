package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// audit verify reads a stopped server's chains and reports each; the
// store's tests show it finding real tampering (store.VerifyAudit), this
// one what the command says of a break and that it fails.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, area := range []string{"area-a", "area-a", "area-b"} {
		if err := st.Directory(context.Background(), func(tx store.DirTx) error {
			return tx.AppendAudit(&store.Audit{AreaID: area, UserID: "u1", Action: store.AuditSignIn})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data", dir}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("audit verify of a whole trail: %v\n%s", err, out.String())
	}
	for _, want := range []string{"area area-a: 2 entries, whole; head 2 ", "area area-b: 1 entries, whole; head 1 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"audit"}, func(string) string { return "" }, &out); err == nil {
		t.Error("audit without verify succeeded")
	}

	if err := run(context.Background(), []string{"audit", "verify", "--data", filepath.Join(t.TempDir(), "none")}, func(string) string { return "" }, &out); err == nil {
		t.Error("audit verify of a directory without a store succeeded")
	}

	out.Reset()
	rep := &store.AuditReport{Chains: []store.AuditChain{
		{Area: "area-a", Entries: 2},
		{Area: "area-b", Entries: 6, Break: &store.AuditBreak{Seq: 7, Problem: "previous-entry hash does not match entry 6", Expected: "ab12", Found: "cd34"}},
	}, Pending: 1}
	err = printAuditReport(&out, rep)
	if err == nil || !strings.Contains(err.Error(), "broken in 1 of 2 areas") {
		t.Errorf("printAuditReport of a break = %v, want an error", err)
	}
	for _, want := range []string{
		"area area-b: BROKEN at entry 7: previous-entry hash does not match entry 6 (expected ab12, found cd34); 6 entries before it are whole",
		"1 entries committed and not yet sealed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// audit verify opens an encrypted store with its key, and refuses without.
func TestAuditVerifyEncrypted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	keyFile := filepath.Join(t.TempDir(), "store.key")
	key, err := storekey.Create(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Directory(context.Background(), func(tx store.DirTx) error {
		return tx.AppendAudit(&store.Audit{AreaID: "area-a", UserID: "u1", Action: store.AuditSignIn})
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	none := func(string) string { return "" }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data", dir, "--key-file", keyFile}, none, &out); err != nil ||
		!strings.Contains(out.String(), "area area-a: 1 entries, whole") {
		t.Fatalf("audit verify with the key: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"audit", "verify", "--data", dir}, none, &out); err == nil {
		t.Error("audit verify of an encrypted store without its key succeeded")
	}
}
