package e2e

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The online backup and the restore drill, end to end with the real
// binaries: tablets sync; an admin takes a full backup and an incremental
// one with `throughcare backup` while the server runs; more changes land,
// some synced, some still on the tablets; the server is stopped, restored
// with `throughcare-server restore` from the older backups into its data
// directory, and started again. Every tablet resets (the restore replaced
// the cursor key, so even a tablet the server lost nothing of pulls
// afresh) and sends again what it holds that the backups lack, and the
// tablets converge on the same contacts, with nothing any of them held
// lost.
func TestSDKConvergesAfterRestoreFromOnlineBackup(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Hackney Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	w1 := a.enrol(v1.Role_ROLE_WORKER, team)
	w2 := a.enrol(v1.Role_ROLE_WORKER, team)
	c1, c2 := a.client(team, "Jo", "Evans"), a.client(team, "Sam", "Okafor")
	a.assign(c1, w1)
	a.assign(c2, w2)
	for _, d := range []*device{sup, w1, w2} {
		d.mustSync(t)
	}
	kept := map[string]map[string]bool{c1: {}, c2: {}} // by client: the contacts a restore must keep
	log := func(d *device, client, outcome string, keep bool) {
		t.Helper()
		id, err := d.LogContact(ctx, client, caseload.Contact{Category: "housing", Mode: "home_visit", Outcome: outcome, OccurredAt: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatalf("LogContact: %v", err)
		}
		if keep {
			kept[client][id] = true
		}
	}

	// The operator's CLI, signed in as an admin.
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin.json")
	s.cli(t, admin, "enrol", "--invite", a.invite(v1.Role_ROLE_ADMIN, ""), "--device", "Operator laptop")

	log(w1, c1, "Before the full backup", true)
	log(w2, c2, "Before the full backup", true)
	syncAll(t, w1, w2, sup)
	full := filepath.Join(dir, "full.tcbk")
	out := s.cli(t, admin, "backup", "--out", full)
	if !strings.Contains(out, "backup "+full+": full") || !strings.Contains(out, "records") || !strings.Contains(out, "backup: ") {
		t.Fatalf("backup said %q; want progress and a summary", out)
	}
	if again, err := s.tryCLI(admin, "backup", "--out", full); err == nil || !strings.Contains(again, "exists") {
		t.Fatalf("a second backup onto the same file: %v %q; want it refused", err, again)
	}

	log(w1, c1, "Between the backups", true)
	syncAll(t, w1, sup)
	inc := filepath.Join(dir, "inc.tcbk")
	if out := s.cli(t, admin, "backup", "--out", inc, "--since-file", full); !strings.Contains(out, "incremental from version") {
		t.Fatalf("incremental backup said %q", out)
	}

	// After the last backup: synced and pulled back (held by no tablet as a
	// change, so the restore loses it), and still on the tablets.
	log(w1, c1, "Synced after the backups, lost in the restore", false)
	w1.mustSync(t)
	log(w1, c1, "Offline after the backups", true)
	log(w1, c1, "Offline, second", true)
	log(w2, c2, "Offline after the backups", true)
	sup.mustSync(t)

	s.stop(t)
	if err := os.RemoveAll(s.Data); err != nil {
		t.Fatal(err)
	}
	restore := exec.Command(bin.server, "restore", "--from", full, "--from", inc, "--data", s.Data)
	if b, err := restore.CombinedOutput(); err != nil || strings.Count(string(b), ": verified") != 2 || !strings.Contains(string(b), "cursor key is replaced") {
		t.Fatalf("restore: %v\n%s", err, b)
	}
	s.restart(t)

	// w2 lost nothing on the server; it still resets, because its cursor
	// points into a history the restore replaced.
	for _, d := range []*device{w2, w1, sup} {
		rep, err := d.Sync(ctx)
		if err != nil {
			t.Fatalf("sync after the restore: %v (want no operator action)", err)
		}
		if !rep.Reset || rep.Rejected != 0 || d.Status().Pending != 0 {
			t.Fatalf("sync after the restore: %+v, status %+v; want a reset, nothing rejected or left pending", rep, d.Status())
		}
	}
	syncAll(t, w1, w2, sup)
	for _, tc := range []struct {
		name   string
		d      *device
		client string
	}{{"w1", w1, c1}, {"w2", w2, c2}, {"the supervisor", sup, c1}, {"the supervisor", sup, c2}} {
		if got := contactIDs(t, tc.d, tc.client); !maps.Equal(got, kept[tc.client]) {
			t.Fatalf("after the restore %s shows contacts %v of a client, want %v", tc.name, got, kept[tc.client])
		}
	}
}

func syncAll(t *testing.T, ds ...*device) {
	t.Helper()
	for _, d := range ds {
		d.mustSync(t)
	}
}
