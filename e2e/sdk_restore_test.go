package e2e

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A server restored from an older copy of its data directory has lost
// changes a tablet sent after the copy. The tablet's next sync renumbers
// what it still holds after the server's high-water mark and sends it
// again, with no operator action, and the server ends with every change
// the tablet still held.
func TestSDKSyncsAfterServerRestoredFromOlderCopy(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Hackney Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	w := a.enrol(v1.Role_ROLE_WORKER, team)
	c := a.client(team, "Jo", "Evans")
	a.assign(c, w)
	w.mustSync(t)
	logContact := func(outcome string) string {
		t.Helper()
		id, err := w.LogContact(ctx, c, caseload.Contact{Category: "housing", Mode: "home_visit", Outcome: outcome, OccurredAt: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatalf("LogContact: %v", err)
		}
		return id
	}
	kept := []string{logContact("Before the backup")}
	w.mustSync(t)

	// A cold backup, then more work the backup does not hold.
	s.stop(t)
	backup := filepath.Join(t.TempDir(), "backup")
	if err := os.CopyFS(backup, os.DirFS(s.Data)); err != nil {
		t.Fatal(err)
	}
	s.restart(t)
	logContact("Synced after the backup, then lost in the restore")
	w.mustSync(t)
	kept = append(kept, logContact("Offline after the backup"), logContact("Offline, second"))

	// The operator restores the backup.
	s.stop(t)
	if err := os.RemoveAll(s.Data); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(s.Data, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	s.restart(t)

	want := map[string]bool{}
	for _, id := range kept {
		want[id] = true
	}
	rep, err := w.Sync(ctx)
	if err != nil {
		t.Fatalf("sync after the restore: %v (want no operator action)", err)
	}
	if rep.Accepted == 0 || rep.Rejected != 0 || !rep.Reset || w.Status().Pending != 0 {
		t.Fatalf("sync after the restore: %+v, status %+v; want the held changes accepted and a reset", rep, w.Status())
	}
	if got := contactIDs(t, w, c); !maps.Equal(got, want) {
		t.Fatalf("after the restore the tablet shows contacts %v, want %v", got, want)
	}
	sup.mustSync(t)
	if got := contactIDs(t, sup, c); !maps.Equal(got, want) {
		t.Fatalf("the restored server holds contacts %v, want every one the tablet still held %v", got, want)
	}
	w.mustSync(t) // and it goes on syncing
}
