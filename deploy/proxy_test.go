package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The proxy examples name the settings the server needs behind them, with
// the values the environment file sets.
func TestProxyExamplesNameTheServerSettings(t *testing.T) {
	env := readEnvFile(t)
	for _, file := range []string{"proxy/Caddyfile", "proxy/nginx.conf"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"THROUGHCARE_LISTEN", "THROUGHCARE_RP_ID", "THROUGHCARE_RP_ORIGINS", "THROUGHCARE_TRUSTED_PROXY_HEADER", "THROUGHCARE_MAX_CONNS_PER_IP"} {
			if want := k + "=" + env[k].value; !env[k].set || !strings.Contains(string(b), want) {
				t.Errorf("%s does not say %s (as throughcare.env sets it)", file, want)
			}
		}
		for _, host := range []string{strings.TrimPrefix(env["THROUGHCARE_RP_ORIGINS"].value, "https://"), "127.0.0.1:8080"} {
			if !strings.Contains(string(b), host) {
				t.Errorf("%s does not proxy %s", file, host)
			}
		}
	}
}

// caddy takes the Caddyfile as it is.
func TestCaddyfile(t *testing.T) {
	caddy := tool(t, "caddy", "caddy")
	out, err := exec.Command(caddy, "adapt", "--adapter", "caddyfile", "--config", "proxy/Caddyfile").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"upstreams"`) {
		t.Fatalf("caddy adapt: %v\n%s", err, out)
	}
	if out, err := exec.Command(caddy, "fmt", "proxy/Caddyfile").Output(); err != nil {
		t.Fatal(err)
	} else if b, _ := os.ReadFile("proxy/Caddyfile"); string(out) != string(b) {
		t.Errorf("the Caddyfile is not formatted as caddy fmt would:\n%s", out)
	}
}

// nginx -t takes the nginx example inside an http block, with a
// throwaway certificate where the example names Let's Encrypt's.
func TestNginxConf(t *testing.T) {
	nginx := tool(t, "nginx", "nginx-light")
	openssl := tool(t, "openssl", "openssl")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN=throughcare.example.org", "-keyout", key, "-out", cert).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	b, err := os.ReadFile("proxy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	site := strings.NewReplacer("/etc/letsencrypt/live/throughcare.example.org/fullchain.pem", cert,
		"/etc/letsencrypt/live/throughcare.example.org/privkey.pem", key).Replace(string(b))
	if site == string(b) {
		t.Fatal("the nginx example no longer names the certificate paths this test replaces")
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sitePath := write("site.conf", site)
	main := write("nginx.conf", "pid "+dir+"/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  include "+sitePath+";\n}\n")
	out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-c", main).CombinedOutput()
	if err != nil || strings.Contains(string(out), "[warn]") || strings.Contains(string(out), "[emerg]") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}
