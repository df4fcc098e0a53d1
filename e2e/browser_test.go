package e2e

// Browser tests of the supervisors' web console: the real server binary,
// headless Chromium with a virtual passkey authenticator, and SDK devices
// as the workers' tablets.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestBrowserSignInAndLive: a wrong invite is refused; a supervisor enrols
// from an invite link with a passkey; the session refreshes itself before
// the access token expires, in two tabs sharing it; a worker's tablet syncs
// a contact and the console announces it live; the supervisor signs out
// (both tabs) and in again, from the keyboard, with the same passkey and
// device; once an admin disables them, the console says the session ended
// and the passkey no longer signs in.
func TestBrowserSignInAndLive(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t) // fail (or skip) before starting anything
	s := startServer(t, "--access-ttl", "12s", "--auth-burst", "100")
	a := newArea(t, s)
	team := a.team("Outreach North")
	b := newBrowser(t, s)

	// Opened as 127.0.0.1, where passkeys for "localhost" cannot work, the
	// server sends the browser to localhost.
	b.do("open 127.0.0.1", chromedp.Navigate(strings.Replace(s.URL, "localhost", "127.0.0.1", 1)+"/?invite=tci_x"))
	b.waitFor("redirect to localhost", `location.href === `+strconv.Quote(s.URL+"/?invite=tci_x"), 20*time.Second)
	b.shot("redirected-to-localhost")

	b.open("/")
	b.visible("#signin")
	b.shot("sign-in")

	// A wrong invite code is refused with a clear message, before any passkey is made.
	b.click(".enrol summary")
	b.typeInto("#invite", "tci_notarealcode")
	b.click("#enrol button[type=submit]")
	b.waitText(".signin .state.error", "The invite was not accepted")
	if n := len(b.credentials()); n != 0 {
		t.Errorf("a refused invite left %d passkeys on the authenticator", n)
	}
	b.shot("bad-invite")

	code := a.namedInvite(v1.Role_ROLE_SUPERVISOR, team, "Sam Supervisor")
	b.open("/?invite=" + url.QueryEscape(code))
	b.visible("#enrol")
	if got := b.eval(`document.getElementById('invite').value`); got != code {
		t.Fatalf("invite field = %v, want the code from the link", got)
	}
	b.shot("enrol")
	b.click("#enrol button[type=submit]")
	b.visible("#nav")
	sess := b.session()
	if sess["role"] != "ROLE_SUPERVISOR" || sess["deviceId"] == "" {
		t.Fatalf("session after enrolment = %v", sess)
	}
	if got := b.eval(`location.search`); strings.Contains(got.(string), "invite") {
		t.Errorf("the invite code stays in the address bar: %v", got)
	}
	creds := b.credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("authenticator holds %d credentials (want 1 discoverable)", len(creds))
	}
	b.waitText("#who", "Sam Supervisor")
	b.waitFor("the live stream", `document.getElementById('live').dataset.state === 'live'`, 20*time.Second)
	b.shot("signed-in")

	// A second tab opened from the console starts with a copy of the
	// session (sessionStorage is copied): both must survive refreshes, the
	// tabs handing each other the rotated tokens rather than replaying one.
	b.eval(`window.open('/?view=conflicts', '_blank'), true`)
	tab2 := b.openedTab("view=conflicts")
	tab2.visible("#conflicts")

	// The access token lives 12 s; the console refreshes it before then,
	// and the live stream carries on.
	first := sess["accessToken"].(string)
	b.waitFor("a refreshed access token",
		`JSON.parse(sessionStorage.getItem('throughcare.session'))?.accessToken !== '`+first+`'`, 20*time.Second)
	tab2.waitFor("the second tab to hold the same session", `JSON.parse(sessionStorage.getItem('throughcare.session'))?.accessToken === `+
		fmt.Sprintf("%q", b.session()["accessToken"]), 10*time.Second)

	worker := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	client := a.client(team, "Alex", "Smith")
	a.assign(client, worker)
	worker.mustSync(t)
	// Wait past another expiry of the first access token: the stream must
	// still be up, on the refreshed session.
	time.Sleep(3 * time.Second)
	if _, err := worker.LogContact(a.ctx, client, caseload.Contact{
		OccurredAt: time.Now().Add(-time.Hour), Category: "housing", Mode: "home_visit",
		Outcome: "Viewed a flat with the housing officer", HousingStatusAfter: "temporary_accommodation",
	}); err != nil {
		t.Fatal(err)
	}
	worker.mustSync(t)
	b.waitText("#arrivals", "1 new contact")
	b.shot("live-arrival")
	// The second tab still works on the shared, refreshed session.
	tab2.click(`#nav a[data-view="queue"]`)
	tab2.waitText("#queue", "Viewed a flat")
	if got := tab2.session()["accessToken"]; got != b.session()["accessToken"] {
		t.Errorf("the tabs' sessions diverged")
	}

	b.click("#signout")
	b.visible("#signin")
	if b.session() != nil {
		t.Fatal("the session is still stored after signing out")
	}
	tab2.visible("#signin") // signing out ends the shared session in both tabs
	tab2.close()
	// Sign in again from the keyboard: Tab reaches the button, with a
	// visible focus ring, and Enter presses it.
	b.key("\t")
	if got := b.eval(`document.activeElement.id + ' ' + document.activeElement.matches(':focus-visible') + ' ' + getComputedStyle(document.activeElement).outlineStyle`); got != "signin true solid" {
		t.Errorf("after Tab: focused element, focus-visible, outline = %q, want the sign-in button with a ring", got)
	}
	b.shot("keyboard-focus")
	b.key("\r")
	b.visible("#nav")
	again := b.session()
	if again["userId"] != sess["userId"] || again["deviceId"] != sess["deviceId"] {
		t.Errorf("signed in again as user %v device %v, want user %v device %v (the device enrolled)",
			again["userId"], again["deviceId"], sess["userId"], sess["deviceId"])
	}
	b.waitFor("the live stream again", `document.getElementById('live').dataset.state === 'live'`, 20*time.Second)
	b.shot("signed-in-again")

	// An admin disables the supervisor: the server ends the session and its
	// stream, the console goes back to the sign-in screen and says why, and
	// the passkey no longer signs in.
	if _, err := a.admin.DisableUser(a.ctx, &v1.DisableUserRequest{UserId: sess["userId"].(string)}); err != nil {
		t.Fatal(err)
	}
	b.visible("#signin")
	b.waitText("#toasts", "Your session has ended")
	b.click("#signin")
	b.visible(".signin .state.error")
	b.shot("disabled")
	if b.session() != nil {
		t.Error("a disabled user's passkey signed in")
	}
}
