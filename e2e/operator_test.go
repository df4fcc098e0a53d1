package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The operator socket of the real binary: invite-admin mints through it
// while the server runs; a SIGKILL leaves it stale, and then invite-admin
// opens the store itself; the next start replaces it.
func TestOperatorSocketSurvivesACrash(t *testing.T) {
	s := startServer(t)
	sock := filepath.Join(s.Data, "operator.sock")
	inviteAdmin := func(area string) string {
		t.Helper()
		out, err := exec.Command(bin.server, "invite-admin", "--data", s.Data, "--area", area).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "admin invite for "+area+" (valid 168h0m0s): tci_") {
			t.Fatalf("invite-admin --area %s: %v\n%s", area, err, out)
		}
		return strings.TrimSpace(string(out[strings.LastIndex(string(out), " ")+1:]))
	}
	code := inviteAdmin("Southwark")
	s.kill(t)
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("after SIGKILL the socket: %v, %v; want it left behind (stale)", fi, err)
	}
	offline := inviteAdmin("Lewisham") // the stale socket answers nobody: the store, directly
	s.restart(t)
	if !strings.Contains(s.Out.String(), "operator socket ready") {
		t.Fatalf("the restarted server did not replace the stale socket:\n%s", s.Out)
	}
	live := inviteAdmin("Lewisham")
	dir := t.TempDir()
	for i, c := range []struct{ code, area string }{{code, "Southwark"}, {offline, "Lewisham"}, {live, "Lewisham"}} {
		profile := filepath.Join(dir, strings.Repeat("p", i+1)+".json")
		s.cli(t, profile, "enrol", "--invite", c.code)
		if who := s.cli(t, profile, "whoami"); !strings.Contains(who, "(admin) in "+c.area) {
			t.Errorf("the invite for %s enrolled: %s", c.area, who)
		}
	}
}
