package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unitSettings reads a unit file's Key=Value lines, in order.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not Key=Value: %q", path, line)
		}
		out[k] = append(out[k], v)
	}
	return out
}

// The unit has the sandbox the issue asks for, agrees with the environment
// file on the data directory, and waits longer than the server drains.
func TestSystemdUnitSettings(t *testing.T) {
	got := unitSettings(t, "systemd/throughcare.service")
	for key, want := range map[string]string{
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute": "yes",
		"SystemCallFilter": "@system-service", "StateDirectory": "throughcare", "StateDirectoryMode": "0700",
		"User": "throughcare", "UMask": "0077", "LimitNOFILE": "65536", "KillSignal": "SIGTERM",
		"ExecStart": "/usr/local/bin/throughcare-server", "EnvironmentFile": "/etc/throughcare/throughcare.env",
	} {
		if vs := got[key]; len(vs) == 0 || vs[0] != want {
			t.Errorf("%s=%v, want %q", key, vs, want)
		}
	}
	env := readEnvFile(t)
	if data := env["THROUGHCARE_DATA"]; !data.set || data.value != "/var/lib/"+got["StateDirectory"][0] {
		t.Errorf("throughcare.env sets THROUGHCARE_DATA=%q, want the unit's StateDirectory /var/lib/%s", data.value, got["StateDirectory"][0])
	}
	stop, err := time.ParseDuration(got["TimeoutStopSec"][0])
	drain, _ := time.ParseDuration(unquote(serverFlags(t)["THROUGHCARE_SHUTDOWN_TIMEOUT"].def))
	if err != nil || stop <= drain {
		t.Errorf("TimeoutStopSec=%v: want longer than the server's --shutdown-timeout %v", got["TimeoutStopSec"], drain)
	}
}

// systemd-analyze finds nothing to say about the unit (it prints, and
// still exits 0, for an unknown key or system call group), and rates its
// sandbox "OK" (exposure at most 1.5 of 10).
func TestSystemdAnalyze(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	b, err := os.ReadFile("systemd/throughcare.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart= exists: point it at the built binary.
	unit := filepath.Join(t.TempDir(), "throughcare.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/throughcare-server", bin.server)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=15", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security rates the unit's sandbox over 1.5: %v\n%s", err, out)
	}
}

// systemd-analyze finds nothing wrong with the nightly backup's service
// and timer.
func TestBackupUnitsVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	units := []string{"throughcare-backup.service", "throughcare-backup.timer"}
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		// verify checks that the programs exist: point them at the built CLI.
		text := strings.ReplaceAll(string(b), "/usr/local/bin/throughcare", bin.cli)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, units[0]), filepath.Join(dir, units[1]))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
