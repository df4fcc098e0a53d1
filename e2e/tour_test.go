package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTour walks the README's tour with the real binaries: a first admin
// enrols from the bootstrap invite, creates a team, invites a supervisor
// and a worker who enrol with passkeys (and lists and revokes an invite
// made by mistake), creates and assigns a client; the
// worker syncs it, logs a contact the supervisor then sees; unassigning the
// client evicts it from the worker's device; the admin lists the worker's
// devices and the supervisor closes the case.
func TestTour(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	admin, sup, worker := filepath.Join(dir, "admin.json"), filepath.Join(dir, "sue.json"), filepath.Join(dir, "sam.json")

	bootstrap := s.bootstrapInvite(t)
	if out := s.cli(t, admin, "enrol", "--invite", bootstrap, "--device", "Admin laptop"); !strings.Contains(out, "role admin") {
		t.Fatalf("admin enrolment: %s", out)
	}
	if _, err := s.tryCLI(filepath.Join(dir, "again.json"), "enrol", "--invite", bootstrap); err == nil {
		t.Fatal("the bootstrap invite worked twice")
	}
	// Used, the invite's file is gone; its code never reached the server's
	// output, which is not a terminal.
	if _, err := os.Stat(filepath.Join(s.Data, "bootstrap-invite.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the bootstrap invite's file outlived its use: %v", err)
	}
	if strings.Contains(s.Out.String(), bootstrap) {
		t.Fatalf("the bootstrap invite is in the server's output:\n%s", s.Out)
	}
	team := field(t, s.cli(t, admin, "team", "create", "Outreach North"), "team")
	supCode := field(t, s.cli(t, admin, "invite", "--role", "supervisor", "--team", team, "--name", "Sue Supervisor"), "invite")
	s.cli(t, sup, "enrol", "--invite", supCode, "--device", "Sue's laptop")
	workerCode := field(t, s.cli(t, sup, "invite", "--role", "worker", "--team", team, "--name", "Sam Worker"), "invite")
	workerID := field(t, s.cli(t, worker, "enrol", "--invite", workerCode, "--device", "Tablet 7"), "user")

	// An invite made by mistake is listed (without its code) and revoked;
	// it then enrols nobody.
	spare := s.cli(t, sup, "invite", "--role", "worker", "--team", team, "--name", "Spare Worker")
	spareID := field(t, spare, "id")
	if out := s.cli(t, sup, "invites"); !strings.Contains(out, spareID+" worker") || !strings.Contains(out, "pending") || strings.Contains(out, "tci_") {
		t.Fatalf("the pending invite is not listed as such: %s", out)
	}
	s.cli(t, sup, "invite", "revoke", spareID)
	if _, err := s.tryCLI(filepath.Join(dir, "spare.json"), "enrol", "--invite", field(t, spare, "invite")); err == nil {
		t.Fatal("a revoked invite enrolled someone")
	}
	if out := s.cli(t, admin, "invites", "--all"); !strings.Contains(out, spareID+" worker     revoked") {
		t.Fatalf("the revoked invite is not listed as such: %s", out)
	}

	client := field(t, s.cli(t, sup, "client", "create", "--team", team, "--given", "Alex", "--family", "Smith", "--pathway", "drr", "--dob", "1984-06-02"), "client")
	if out := s.cli(t, worker, "pull"); !strings.Contains(out, "0 records") {
		t.Fatalf("an unassigned worker pulled: %s", out)
	}
	s.cli(t, sup, "assign", "--client", client, "--worker", workerID)
	if out := s.cli(t, worker, "pull"); !strings.Contains(out, "Alex Smith (drr, active)") {
		t.Fatalf("the worker's first sync lacks the assigned client: %s", out)
	}
	s.cli(t, worker, "log-contact", "--client", client, "--category", "housing", "--mode", "home_visit", "--notes", "Viewed a flat")
	if out := s.cli(t, sup, "pull"); !strings.Contains(out, "housing home_visit by "+workerID) {
		t.Fatalf("the supervisor does not see the worker's contact: %s", out)
	}
	s.cli(t, worker, "login") // a fresh sign-in with the same passkey
	s.cli(t, sup, "unassign", "--client", client, "--worker", workerID)
	if out := s.cli(t, worker, "pull"); !strings.Contains(out, "evicted") {
		t.Fatalf("the unassigned client was not evicted: %s", out)
	}

	// The admin sees the worker's tablet; a worker may not close a case,
	// the supervisor may, and a client out of reach is said plainly.
	if out := s.cli(t, admin, "devices", "--user", workerID); !strings.Contains(out, "Tablet 7") || !strings.Contains(out, "active") {
		t.Fatalf("the admin's list of the worker's devices: %s", out)
	}
	if out, err := s.tryCLI(worker, "client", "close", client); err == nil || !strings.Contains(out, "permission denied: supervisors and admins only") {
		t.Fatalf("a worker closing a case: %v\n%s", err, out)
	}
	if out := s.cli(t, sup, "client", "close", client); !strings.Contains(out, "client "+client+" closed") {
		t.Fatalf("closing the case: %s", out)
	}
	if out := s.cli(t, sup, "clients"); !strings.Contains(out, "status closed") {
		t.Fatalf("the closed case is not listed as such: %s", out)
	}
	if out, err := s.tryCLI(sup, "client", "close", "01a24f89-0000-7000-8000-000000000000"); err == nil || !strings.Contains(out, "not found in your reach") {
		t.Fatalf("closing an unknown client: %v\n%s", err, out)
	}

	// The demo: simulated tablets fill a team for the console.
	out := s.cli(t, admin, "demo", "--workers", "2", "--clients", "2", "--days", "3")
	if !strings.Contains(out, "2 workers, 4 clients") || !strings.Contains(out, "1 conflict") || !strings.Contains(out, "/?invite=tci_") ||
		!strings.Contains(out, "missed (did not attend), 4 upcoming") {
		t.Fatalf("demo: %s", out)
	}
}
