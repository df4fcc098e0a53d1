package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSecretsOrPersonalDataInLogs plants recognisable personal data,
// invite codes and tokens in every kind of request, good and bad, then
// checks that none of them reaches a log line.
func TestNoSecretsOrPersonalDataInLogs(t *testing.T) {
	s := startServer(t, "--log-level", "debug")
	dir := t.TempDir()
	admin, worker := filepath.Join(dir, "admin.json"), filepath.Join(dir, "worker.json")
	bootstrap := s.bootstrapInvite(t)
	canaries := []string{bootstrap, "Prudence Canarystaff", "Zebedee", "Canaryfield-4417", "heroin-canary-notes-9931", "canary-category-5521", "tci_canarybadinvite0000000"}

	s.cli(t, admin, "enrol", "--invite", bootstrap, "--device", "Canary laptop 3391")
	canaries = append(canaries, "Canary laptop 3391")
	team := field(t, s.cli(t, admin, "team", "create", "Canary Team 8812"), "team")
	code := field(t, s.cli(t, admin, "invite", "--role", "worker", "--team", team, "--name", "Prudence Canarystaff"), "invite")
	canaries = append(canaries, code)
	workerID := field(t, s.cli(t, worker, "enrol", "--invite", code, "--device", "Tablet canary"), "user")
	client := field(t, s.cli(t, admin, "client", "create", "--team", team, "--given", "Zebedee", "--family", "Canaryfield-4417", "--pathway", "dtto"), "client")
	s.cli(t, admin, "assign", "--client", client, "--worker", workerID)
	s.cli(t, worker, "log-contact", "--client", client, "--category", "treatment_attendance", "--mode", "office", "--notes", "heroin-canary-notes-9931")
	s.cli(t, worker, "pull")
	s.cli(t, admin, "pull")

	// Bad requests: an unknown invite, a value the schema refuses, a forged
	// token, a duplicate enrolment.
	if _, err := s.tryCLI(filepath.Join(dir, "x.json"), "enrol", "--invite", "tci_canarybadinvite0000000"); err == nil {
		t.Fatal("an unknown invite code was accepted")
	}
	if out, err := s.tryCLI(worker, "log-contact", "--client", client, "--category", "canary-category-5521", "--mode", "office"); err == nil {
		t.Fatalf("an invalid category was accepted: %s", out)
	} else if strings.Contains(out, "canary-category-5521") {
		t.Fatalf("the error repeats the submitted value: %s", out)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/throughcare.v1.SyncService/Pull", strings.NewReader(`{"protocolVersion":1,"schemaVersion":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tca_canaryforgedtoken12345")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	canaries = append(canaries, "tca_canaryforgedtoken12345")
	for _, p := range []string{admin, worker} {
		canaries = append(canaries, tokensIn(t, p)...)
	}

	lines := 0
	for _, line := range strings.Split(s.Out.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // not a log line (the bootstrap banner goes to a terminal only, and this is none)
		}
		lines++
		for _, c := range canaries {
			if strings.Contains(line, c) {
				t.Errorf("log line contains %q:\n%s", c, line)
			}
		}
	}
	if lines < 20 {
		t.Fatalf("only %d log lines: the test saw too little to mean anything", lines)
	}
}

// tokensIn returns the access and refresh tokens a CLI profile holds.
func tokensIn(t *testing.T, profile string) []string {
	t.Helper()
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Session struct {
			AccessToken  string `json:"accessToken"`
			RefreshToken string `json:"refreshToken"`
		} `json:"session"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Session.AccessToken == "" || p.Session.RefreshToken == "" {
		t.Fatalf("profile %s holds no tokens (%v)", profile, err)
	}
	return []string{p.Session.AccessToken, p.Session.RefreshToken}
}
