package pgstore

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// logBuffer is a zerolog writer tests read while the store writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A seal that fails (here: an area's chain head damaged, so every seal of
// it fails) is logged, without the entry's contents, and counted; the
// operation it follows still succeeds and its entry stays pending.
func TestSealFailureIsLoggedAndCounted(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	var logs logBuffer
	s, err := Open(context.Background(), Options{URL: url, Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "INSERT INTO audit_heads (area, seq, hash) VALUES ($1, 0, $2)", []byte("area-1"), []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	const address = "203.0.113.77" // personal data: must not reach the log
	if err := s.Directory(ctx, func(tx store.DirTx) error {
		return tx.AppendAudit(&store.Audit{AreaID: "area-1", UserID: "u", Address: address, Action: store.AuditSignIn})
	}); err != nil {
		t.Fatalf("Directory = %v, want the operation to succeed though its seal fails", err)
	}
	got := logs.String()
	if !strings.Contains(got, `"level":"error"`) || !strings.Contains(got, "audit entries left pending") {
		t.Errorf("log = %q, want an error line for the failed seal", got)
	}
	if strings.Contains(got, address) {
		t.Errorf("log = %q holds the entry's address", got)
	}
	if st := s.AuditStats(); st.SealFailures == 0 {
		t.Errorf("AuditStats = %+v, want the failed seal counted", st)
	}
	var pending int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM audit_pending").Scan(&pending); err != nil || pending != 1 {
		t.Errorf("pending entries = %d, %v; want the entry kept pending", pending, err)
	}
}
