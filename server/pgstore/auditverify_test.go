package pgstore_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// A whole chain verifies, with its head the hash of its last entry; a
// row changed with SQL breaks its area's chain at the entry it changed,
// and verify names the area and the entry.
func TestVerifyAudit(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string // SQL on area-b's chain ($1: the area; $2: a re-encoded entry 2 counting 99)
		seq     uint64
		problem string
	}{
		{"entry_rewritten", "UPDATE audit_entries SET entry = $2 WHERE area = $1 AND seq = 2", 3, "previous-entry hash does not match entry 2"},
		{"entry_deleted", "DELETE FROM audit_entries WHERE area = $1 AND seq = 2", 2, "entry missing"},
		{"entry_garbled", "UPDATE audit_entries SET entry = '\\x00ff'::bytea WHERE area = $1 AND seq = 2", 2, "entry cannot be decoded"},
		{"last_entry_dropped", "DELETE FROM audit_entries WHERE area = $1 AND seq = 3", 3, "chain head does not match the last entry (2)"},
		{"entry_of_another_area", "DELETE FROM audit_entries WHERE area = $1 AND seq = 1; UPDATE audit_entries SET area = $1 WHERE area = 'area-a' AND seq = 1", 1, "entry holds another area"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			url := pgtest.Shared(t).Database(t, t.Name())
			s := openURL(t, url)
			for i := range 3 {
				for _, area := range []string{"area-a", "area-b"} {
					if err := s.Directory(ctx, func(tx store.DirTx) error {
						return tx.AppendAudit(&store.Audit{AreaID: area, UserID: "u", Action: store.AuditPush, Count: uint64(i + 1)})
					}); err != nil {
						t.Fatal(err)
					}
				}
			}
			rep, err := s.VerifyAudit(ctx)
			if err != nil || !rep.OK() || len(rep.Chains) != 2 || rep.Pending != 0 {
				t.Fatalf("VerifyAudit before tampering = %+v, %v; want two whole chains", rep, err)
			}
			chain := areaEntries(t, url, "area-b")
			if c := rep.Chains[1]; c.Area != "area-b" || c.Entries != 3 || c.Head != sha256.Sum256(chain[2]) {
				t.Fatalf("area-b's chain %+v, want 3 entries and the last one's hash as head", c)
			}
			e, err := store.DecodeAudit(chain[1])
			if err != nil {
				t.Fatal(err)
			}
			e.Count = 99
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, stmt := range strings.Split(tt.tamper, "; ") {
				args := []any{[]byte("area-b")}
				if strings.Contains(stmt, "$2") {
					args = append(args, e.Encode())
				}
				if _, err := conn.Exec(ctx, stmt, args...); err != nil {
					t.Fatalf("tampering: %v", err)
				}
			}

			rep, err = s.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("VerifyAudit after tampering: every chain whole")
			}
			for _, c := range rep.Chains {
				switch {
				case c.Area == "area-b" && c.Break == nil:
					t.Errorf("area-b's chain is whole after tampering")
				case c.Area == "area-b" && (c.Break.Seq != tt.seq || !strings.Contains(c.Break.Problem, tt.problem)):
					t.Errorf("area-b breaks at %s; want entry %d: %s", c.Break, tt.seq, tt.problem)
				case c.Area == "area-a" && c.Break != nil && tt.name != "entry_of_another_area":
					t.Errorf("area-a breaks at %s; want it whole", c.Break)
				}
			}
		})
	}
}

// areaEntries reads an area's chain as stored, in order.
func areaEntries(t *testing.T, url, area string) [][]byte {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT entry FROM audit_entries WHERE area = $1 ORDER BY seq", []byte(area))
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
