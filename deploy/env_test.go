package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/storekey"
)

// envLine is one THROUGHCARE_ variable of the environment file, set or
// commented out.
type envLine struct {
	value string
	set   bool // false: commented out, showing the default
	line  int
}

var envAssign = regexp.MustCompile(`^(#?)(THROUGHCARE_[A-Z0-9_]+)=(.*)$`)

// readEnvFile reads deploy/throughcare.env.
func readEnvFile(t *testing.T) map[string]envLine {
	t.Helper()
	f, err := os.Open("throughcare.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]envLine{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		m := envAssign.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if _, dup := vars[m[2]]; dup {
			t.Errorf("throughcare.env:%d: %s appears twice", n, m[2])
		}
		vars[m[2]] = envLine{value: m[3], set: m[1] == "", line: n}
	}
	return vars
}

// computedDefaults are the flags whose default depends on the machine; the
// environment file shows them commented out with no value.
var computedDefaults = map[string]bool{"THROUGHCARE_MAX_DECOMPRESSIONS": true}

// The environment file has every flag of the server, and no variable that
// is not one; a line commented out shows the flag's real default.
func TestEnvFileHasEveryFlag(t *testing.T) {
	flags, vars := serverFlags(t), readEnvFile(t)
	for env, f := range flags {
		v, ok := vars[env]
		if !ok {
			t.Errorf("throughcare.env lacks %s (--%s): add it, explained, as #%s=%s", env, f.name, env, unquote(f.def))
			continue
		}
		if v.set {
			continue
		}
		if computedDefaults[env] {
			if v.value != "" {
				t.Errorf("throughcare.env:%d: %s's default depends on the machine; show it as #%s=", v.line, env, env)
			}
			continue
		}
		if !sameDefault(f, v.value) {
			t.Errorf("throughcare.env:%d: #%s=%s, but the default of --%s is %s", v.line, env, v.value, f.name, orNone(f.def))
		}
	}
	for env, v := range vars {
		if _, ok := flags[env]; !ok {
			t.Errorf("throughcare.env:%d: %s is no flag of throughcare-server", v.line, env)
		}
	}
}

// sameDefault reports whether a commented-out value is the flag's default
// as -h shows it ("15m0s" for 15m, quoted strings, nothing for a zero).
func sameDefault(f serverFlag, value string) bool {
	def := unquote(f.def)
	switch f.kind {
	case "duration":
		if def == "" {
			def = "0s"
		}
		a, errA := time.ParseDuration(value)
		b, errB := time.ParseDuration(def)
		return errA == nil && errB == nil && a == b
	case "":
		return value == "false" && def == "" || value == def
	case "int", "float":
		if def == "" {
			def = "0"
		}
	}
	return value == def
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "the zero value"
	}
	return s
}

// The server starts with every line of the environment file, the ones
// commented out included (so every value there is one it takes), the
// data directory and address aside.
func TestServerStartsWithTheEnvFile(t *testing.T) {
	env := map[string]string{}
	for k, v := range readEnvFile(t) {
		if k == "THROUGHCARE_ACCEPT_DATA_LOSS" {
			continue // never for a server that is not damaged
		}
		if k == storekey.EnvKeyFile { // a key made as OPERATIONS.md's install does, in a temporary directory
			v.value = filepath.Join(t.TempDir(), filepath.Base(v.value))
			if _, err := storekey.Create(v.value); err != nil {
				t.Fatal(err)
			}
		}
		env[k] = v.value
	}
	s := startServer(t, env)
	if !strings.Contains(s.out.String(), `"message":"the store is encrypted at rest"`) {
		t.Errorf("the env file's key did not encrypt the store:\n%s", s.out)
	}
	if !strings.Contains(s.out.String(), `"area":"Lambeth"`) {
		t.Errorf("the first start did not bootstrap the env file's area:\n%s", s.out)
	}
}
