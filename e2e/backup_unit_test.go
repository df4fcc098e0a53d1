package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// backupService is the nightly backup's unit (its timer and
// systemd-analyze's check of both are in package deploy).
const backupService = "../deploy/systemd/throughcare-backup.service"

// unitCommands returns a unit file's values of key (ExecStart=, ...), with
// systemd's escapes ($$, %%) undone, as the shell will see them.
func unitCommands(t *testing.T, path, key string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			out = append(out, strings.NewReplacer("$$", "$", "%%", "%").Replace(v))
		}
	}
	return out
}

// shellScript returns the script of a `/bin/sh -euc '...'` command.
func shellScript(t *testing.T, cmd string) string {
	t.Helper()
	script, ok := strings.CutPrefix(cmd, "/bin/sh -euc '")
	if !ok || !strings.HasSuffix(script, "'") || strings.Count(script, "'") != 1 {
		t.Fatalf("not a /bin/sh -euc '...' command: %s", cmd)
	}
	return strings.TrimSuffix(script, "'")
}

// The backup unit's commands, as written, against a live server: the
// first night takes a full backup, the next an incremental one that
// follows it, backups older than KEEP_DAYS go, and the two restore.
func TestBackupUnitCommands(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	dir := t.TempDir()
	profile := filepath.Join(dir, "operator.json")
	s.cli(t, profile, "enrol", "--invite", a.invite(v1.Role_ROLE_ADMIN, ""), "--device", "Nightly backup")
	backups := filepath.Join(dir, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "THROUGHCARE_SERVER="+s.URL, "THROUGHCARE_PROFILE="+profile,
		"BACKUP_DIR="+backups, "FULL_ON_WEEKDAY=8", "KEEP_DAYS=35") // weekday 8: never, so the second night is incremental
	night := func() {
		t.Helper()
		pre, start, post := unitCommands(t, backupService, "ExecStartPre"), unitCommands(t, backupService, "ExecStart"), unitCommands(t, backupService, "ExecStartPost")
		if len(pre) != 1 || len(start) != 1 || len(post) != 1 {
			t.Fatalf("ExecStartPre %q, ExecStart %q, ExecStartPost %q: want one of each", pre, start, post)
		}
		login := strings.Fields(strings.ReplaceAll(pre[0], "/usr/local/bin/throughcare", bin.cli))
		for _, c := range [][]string{login,
			{"/bin/sh", "-euc", strings.ReplaceAll(shellScript(t, start[0]), "/usr/local/bin/throughcare", bin.cli)},
			{"/bin/sh", "-euc", shellScript(t, post[0])}} {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
	}
	tablet := a.enrol(v1.Role_ROLE_WORKER, a.team("North"))
	tablet.mustSync(t)
	night()
	// An expired backup from long ago, before the newest full one.
	old := filepath.Join(backups, "20000101T000000.000000000Z-full.tcbk")
	if err := os.WriteFile(old, []byte("an old backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	expired := time.Now().Add(-40 * 24 * time.Hour)
	if err := os.Chtimes(old, expired, expired); err != nil {
		t.Fatal(err)
	}
	a.client(a.team("South"), "Jo", "Evans") // the day's work
	night()

	entries, err := os.ReadDir(backups)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !strings.HasSuffix(names[0], "-full.tcbk") || !strings.HasSuffix(names[1], "-incremental.tcbk") || slices.Contains(names, filepath.Base(old)) {
		t.Fatalf("after two nights the backup directory holds %v; want a full and an incremental backup, and the expired one gone", names)
	}
	restore := exec.Command(bin.server, "restore", "--from", filepath.Join(backups, names[0]), "--from", filepath.Join(backups, names[1]),
		"--data", filepath.Join(dir, "restored"), "--key-file", s.Data+".key")
	if out, err := restore.CombinedOutput(); err != nil || strings.Count(string(out), ": verified") != 2 {
		t.Fatalf("restoring the two nights: %v\n%s", err, out)
	}
}
