package e2e

import (
	"archive/zip"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Subject access and retention through the real binaries: an admin's
// `throughcare sar` writes a zip of everything held about a client; once
// the client's case is closed for longer than --retention the server
// purges them on its own schedule, the worker's tablet evicts them at its
// next sync, and a second export finds nothing.
func TestSubjectAccessThenRetentionPurge(t *testing.T) {
	s := startServer(t, "--retention", "3s")
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Southwark Outreach")
	worker := a.enrol(v1.Role_ROLE_WORKER, team)
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Gina", "Subjectaccess")
	kept := a.client(team, "Kit", "Keptclient")
	a.assign(c, worker)
	a.assign(kept, worker)
	worker.mustSync(t)
	if _, err := worker.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "housing", Mode: "home_visit",
		Outcome: "Tenancy signed", Notes: "sar-e2e-note-5521"}); err != nil {
		t.Fatal(err)
	}
	worker.mustSync(t)

	admin := filepath.Join(t.TempDir(), "admin.json")
	s.cli(t, admin, "enrol", "--invite", a.invite(v1.Role_ROLE_ADMIN, ""), "--device", "Admin laptop")
	out := filepath.Join(t.TempDir(), "gina.zip")
	if got := s.cli(t, admin, "sar", "--client", c, "--out", out); !strings.Contains(got, "wrote "+out) {
		t.Fatalf("sar printed %q", got)
	}
	files := unzip(t, out)
	for name, want := range map[string]string{"summary.md": "Gina Subjectaccess", "records/contact.json": "sar-e2e-note-5521", "history.json": "sar-e2e-note-5521"} {
		if !strings.Contains(files[name], want) {
			t.Errorf("%s lacks %q:\n%s", name, want, files[name])
		}
	}
	for name, body := range files {
		if strings.Contains(body, kept) {
			t.Errorf("%s names the other client", name)
		}
	}

	sup.mustSync(t)
	if err := sup.UpdateClient(ctx, c, caseload.Edit{Field: "status", Value: caseload.String("closed")}); err != nil {
		t.Fatal(err)
	}
	sup.mustSync(t)
	evicted := 0
	if !waitFor(30*time.Second, func() bool {
		evicted += worker.mustSync(t).Evicted
		return evicted > 0
	}) {
		t.Fatalf("the tablet never evicted the closed client\n%s", s.Out)
	}
	if _, err := worker.Client(ctx, c); err == nil {
		t.Fatal("the purged client is still on the tablet")
	}
	if _, err := worker.Client(ctx, kept); err != nil {
		t.Fatalf("the open client left the tablet: %v", err)
	}
	if got, err := s.tryCLI(admin, "sar", "--client", c, "--out", out+".again"); err == nil || !strings.Contains(got, "not found") {
		t.Fatalf("sar of a purged client: %v %q, want not found", err, got)
	}
	if !strings.Contains(s.Out.String(), "client purged (retention)") || strings.Contains(s.Out.String(), "sar-e2e-note-5521") {
		t.Fatalf("server log lacks the purge, or holds the note:\n%s", s.Out)
	}
}

// unzip reads every file of a zip archive.
func unzip(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(b)
	}
	return out
}
