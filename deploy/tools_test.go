package deploy

import (
	"os"
	"os/exec"
	"testing"
)

// tool finds a program the deploy checks run (systemd-analyze, nginx,
// caddy), or fails the test: CI installs them, so a missing one is an
// error unless THROUGHCARE_SKIP_DEPLOY_TOOLS=1.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("THROUGHCARE_SKIP_DEPLOY_TOOLS") == "1" {
		t.Skipf("THROUGHCARE_SKIP_DEPLOY_TOOLS=1: %s is not installed, its check is skipped", name)
	}
	t.Fatalf("this check needs %s, which is not installed: run `apt-get install -y %s` (.ci/run does), "+
		"or set THROUGHCARE_SKIP_DEPLOY_TOOLS=1 to skip it", name, pkg)
	return ""
}
