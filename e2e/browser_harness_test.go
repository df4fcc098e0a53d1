package e2e

// The browser harness: headless Chromium driven through the DevTools
// protocol (chromedp), with a virtual WebAuthn authenticator standing in
// for the person's passkey. It records every uncaught exception and every
// security (CSP, Trusted Types) message of the page, so a test fails on
// them, and saves screenshots as artifacts.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// chromiumPath finds Chromium, or fails the test: CI installs it, so a
// missing browser is an error unless THROUGHCARE_SKIP_BROWSER=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("THROUGHCARE_SKIP_BROWSER") == "1" {
		t.Skip("THROUGHCARE_SKIP_BROWSER=1: the browser tests are skipped")
	}
	if p := os.Getenv("THROUGHCARE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser tests need Chromium, and none is installed: run `apt-get install -y chromium` " +
		"(.ci/run does), point THROUGHCARE_CHROMIUM at a Chrome binary, or set THROUGHCARE_SKIP_BROWSER=1 to skip them")
	return ""
}

// browserTab is one headless Chromium tab on the console, with a virtual
// platform authenticator.
type browserTab struct {
	t         *testing.T
	ctx       context.Context
	base      string
	shots     string
	downloads string
	n         int
	authn     webauthn.AuthenticatorID

	mu       sync.Mutex
	problems []string
}

// newBrowser starts a British Chromium for s and opens the console.
func newBrowser(t *testing.T, s *server) *browserTab {
	t.Helper()
	return newBrowserIn(t, s, "en-GB")
}

// newBrowserIn starts Chromium in a locale ("en-US": its --lang and its
// LANG) for s and opens the console.
func newBrowserIn(t *testing.T, s *server, lang string) *browserTab {
	t.Helper()
	posix := strings.ReplaceAll(lang, "-", "_")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", lang),
		chromedp.Env("LANG="+posix+".UTF-8", "LANGUAGE="+posix),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	b := &browserTab{t: t, ctx: bctx, base: s.URL, shots: artifactsDir(t), downloads: t.TempDir()}
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	if err := chromedp.Listen(bctx, b.record); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(bctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	b.authn = res.AuthenticatorID
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads,
	}); err != nil {
		t.Fatalf("Browser.setDownloadBehavior: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

// record keeps the page's uncaught exceptions and security messages (CSP
// and Trusted Types violations) as problems; other errors are logged.
func (b *browserTab) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		switch {
		case e.Source == cdplog.EntrySourceSecurity || strings.Contains(e.Text, "Content Security Policy") || strings.Contains(e.Text, "TrustedHTML"):
			b.problems = append(b.problems, fmt.Sprintf("security: %s (%s)", e.Text, e.URL))
		case e.Level == cdplog.EntryLevelError:
			b.t.Logf("browser log (%s): %s %s", e.Source, e.Text, e.URL)
		}
	}
}

// artifactsDir is where a test's screenshots go: $THROUGHCARE_ARTIFACTS or
// e2e/artifacts, one directory per test, emptied first.
func artifactsDir(t *testing.T) string {
	root := os.Getenv("THROUGHCARE_ARTIFACTS")
	if root == "" {
		root = "artifacts"
	}
	dir, err := filepath.Abs(filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (b *browserTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a console address ("/?view=stats").
func (b *browserTab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// browserArea starts what a console test needs: a server (sign-in limits
// raised for the test's many sign-ins) and an area with one team,
// "Outreach North", whose id it returns. Browser tests are left out of
// -short runs (make test runs them); without Chromium the test fails, or
// skips only when THROUGHCARE_SKIP_BROWSER says so (chromiumPath).
func browserArea(t *testing.T) (*server, *area, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t) // fail (or skip) before starting anything
	s := startServer(t, "--auth-burst", "100")
	a := newArea(t, s)
	return s, a, a.team("Outreach North")
}

// enrol opens the console at an invite link, enrols a passkey with the
// invite and waits until the console shows the signed-in navigation.
func (b *browserTab) enrol(code string) {
	b.t.Helper()
	b.open("/?invite=" + url.QueryEscape(code))
	b.click("#enrol button[type=submit]")
	b.visible("#nav")
}

// reload reloads the page (the session stays: it is in sessionStorage).
func (b *browserTab) reload() {
	b.t.Helper()
	b.do("reload", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *browserTab) click(css string) {
	b.t.Helper()
	b.do("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// key types keys into the focused element ("\t" is Tab, "\r" Enter).
func (b *browserTab) key(keys string) {
	b.t.Helper()
	b.do("keys", chromedp.KeyEvent(keys))
}

func (b *browserTab) visible(css string) {
	b.t.Helper()
	b.do("wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

func (b *browserTab) typeInto(css, text string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`document.querySelector(%q).value = ''`, css))
	b.do("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text))
}

// setValue sets a form control's value (selects, dates) and fires change.
func (b *browserTab) setValue(css, value string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); return el.value === %[2]q; })()`, css, value))
}

func (b *browserTab) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.shot("failed-text")
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// eval evaluates a JavaScript expression and decodes its JSON value into
// a bool, string, number or any.
func (b *browserTab) eval(expr string) any {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			b.t.Fatalf("evaluating %s: %v", expr, err)
		}
	}
	return v
}

// waitFor polls a JavaScript expression until it is truthy. (chromedp's
// Poll builds its predicate with new Function, which the console's CSP
// forbids, so this polls from Go.)
func (b *browserTab) waitFor(what, expr string, timeout time.Duration) any {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := b.eval(expr)
		switch x := v.(type) {
		case nil:
		case bool:
			if x {
				return v
			}
		case string:
			if x != "" {
				return v
			}
		case float64:
			if x != 0 {
				return v
			}
		default:
			return v
		}
		if time.Now().After(deadline) {
			b.shot("timeout")
			b.t.Fatalf("waited %s for %s (%s)", timeout, what, expr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the element's text contains want.
func (b *browserTab) waitText(css, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", want, css),
		fmt.Sprintf(`(document.querySelector(%q)?.innerText ?? '').includes(%q)`, css, want), 20*time.Second)
}

// shot saves a full-page screenshot as NN-name.png.
func (b *browserTab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// viewport resizes the page (a tablet is 820×1180 in portrait).
func (b *browserTab) viewport(w, h int64) {
	b.t.Helper()
	b.do("resize", chromedp.EmulateViewport(w, h))
}

// credentials lists the passkeys the virtual authenticator holds.
func (b *browserTab) credentials() []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: b.authn})
	if err != nil {
		b.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// session returns the console's stored session (sessionStorage).
func (b *browserTab) session() map[string]any {
	b.t.Helper()
	v, _ := b.eval(`JSON.parse(sessionStorage.getItem('throughcare.session'))`).(map[string]any)
	return v
}

// download waits for a downloaded file with the suffix and returns its contents.
func (b *browserTab) download(suffix string) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, _ := os.ReadDir(b.downloads)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				data, err := os.ReadFile(filepath.Join(b.downloads, e.Name()))
				if err != nil {
					b.t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(b.downloads, e.Name())); err != nil {
					b.t.Fatal(err) // the next download must not find this one
				}
				return string(data)
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no %s download in %s", suffix, b.downloads)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openedTab attaches to a tab the page opened (window.open) whose address
// contains part.
func (b *browserTab) openedTab(part string) *browserTab {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "page" && strings.Contains(info.URL, part) {
				ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID))
				b.t.Cleanup(cancel)
				tab := &browserTab{t: b.t, ctx: ctx, base: b.base, shots: b.shots, downloads: b.downloads, authn: b.authn}
				if err := chromedp.Do(ctx); err != nil {
					b.t.Fatal(err)
				}
				if err := chromedp.Listen(ctx, tab.record); err != nil {
					b.t.Fatal(err)
				}
				b.t.Cleanup(func() {
					tab.mu.Lock()
					defer tab.mu.Unlock()
					for _, p := range tab.problems {
						b.t.Errorf("browser (second tab): %s", p)
					}
				})
				return tab
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no tab at %s opened", part)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// close closes the tab.
func (b *browserTab) close() {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Evaluate[chromedp.Void](`window.close()`)); err != nil {
		b.t.Logf("closing a tab: %v", err)
	}
}

// namedInvite makes an invite for a person with a name.
func (a *area) namedInvite(role v1.Role, team, name string) string {
	a.t.Helper()
	resp, err := a.admin.CreateInvite(a.ctx, &v1.CreateInviteRequest{Role: role, TeamId: team, DisplayName: name})
	if err != nil {
		a.t.Fatalf("CreateInvite: %v", err)
	}
	return resp.GetInviteCode()
}

// enrolNamed enrols a person with a name on a new SDK device.
func (a *area) enrolNamed(role v1.Role, team, name string) *device {
	a.t.Helper()
	key := softKey(a.s)
	key.Synced = true
	d := a.openDevice(key)
	if err := d.Enrol(a.ctx, key, a.namedInvite(role, team, name), name+"'s tablet"); err != nil {
		a.t.Fatalf("enrol %s: %v", name, err)
	}
	return d
}
