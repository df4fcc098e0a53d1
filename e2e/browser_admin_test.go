package e2e

// Browser tests of the console's administration screens: an administrator
// invites a worker (the code shown once), whose tablet enrols with it, and
// revokes that tablet; creates a client, assigns it to a worker whose
// tablet receives it, and closes the case; a supervisor is offered none of
// it, and the server refuses them regardless.

import (
	"fmt"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// adminConsole enrols an administrator in a new browser and opens a
// section of the administration screens.
func adminConsole(t *testing.T, s *server, a *area) *browserTab {
	t.Helper()
	return adminConsoleIn(t, s, a, "en-GB")
}

// adminConsoleIn is adminConsole in a browser of a locale (newBrowserIn).
func adminConsoleIn(t *testing.T, s *server, a *area, lang string) *browserTab {
	t.Helper()
	b := newBrowserIn(t, s, lang)
	b.enrol(a.namedInvite(v1.Role_ROLE_ADMIN, "", "Ada Admin"))
	b.waitFor("the administration link", `!document.querySelector('#nav [data-view=admin]').hidden`, 20*time.Second)
	return b
}

// confirm presses an action's button, then its confirmation, from the
// keyboard (the confirmation takes the focus).
func (b *browserTab) confirm(css string) {
	b.t.Helper()
	b.click(css)
	b.waitFor("the confirmation", `document.activeElement?.matches('button[data-confirm]') ?? false`, 10*time.Second)
	b.key("\r")
}

func TestBrowserAdminInvitesAndRevokesADevice(t *testing.T) {
	s, a, team := browserArea(t)
	b := adminConsole(t, s, a)

	b.click("#nav [data-view=admin]")
	b.visible("#invite-form")
	b.typeInto("#inv-name", "Wren Worker")
	b.setValue("#inv-role", "ROLE_WORKER")
	b.setValue("#inv-team", team)
	b.click("#invite-form button[type=submit]")
	b.visible("#invite-code")
	code := b.text("#invite-code")
	b.waitText("#people", "Ada Admin")
	b.shot("invite-made")

	// The code enrols the worker's tablet, once.
	key := softKey(s)
	wren := a.openDevice(key)
	if err := wren.Enrol(a.ctx, key, code, "Wren's tablet"); err != nil {
		t.Fatalf("enrolling with the console's invite: %v", err)
	}
	wren.mustSync(t)
	// Hidden again, the code is nowhere on the page.
	b.click("#invite-made button")
	if got := b.eval(fmt.Sprintf(`document.body.innerText.includes(%q)`, code)); got != false {
		t.Error("the invite code is still on the page after Done")
	}

	// Wren is listed; their devices; revoke the tablet.
	b.open("/?view=admin&tab=people")
	row := fmt.Sprintf(`#people tr[data-user=%q]`, wren.UserID())
	b.waitText(row, "Wren Worker")
	b.click(row + " a")
	dev := fmt.Sprintf(`#devices tr[data-device=%q]`, wren.DeviceID())
	b.waitText(dev, "Wren's tablet")
	b.waitText("main h2", "Devices of Wren Worker")
	b.confirm(dev + " button[data-revoke]")
	b.waitText(dev, "Revoked")
	b.waitFor("the focus on the redrawn list", `document.activeElement?.id === 'devices'`, 10*time.Second)
	b.shot("device-revoked")
	if _, err := wren.Sync(a.ctx); err == nil {
		t.Error("the revoked tablet still syncs")
	}

	// The pending-invite list: a fresh invite is listed and revoked.
	made, err := a.admin.CreateInvite(a.ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: team, DisplayName: "Kit Keyworker"})
	if err != nil {
		t.Fatal(err)
	}
	b.open("/?view=admin&tab=invites")
	inv := fmt.Sprintf(`#invites tr[data-invite=%q]`, made.GetInviteId())
	b.waitText(inv, "Kit Keyworker")
	b.confirm(inv + " button[data-revoke]")
	b.waitFor("the revoked invite to leave the pending list", fmt.Sprintf(`!document.querySelector('#invites[aria-busy]') && !document.querySelector(%q)`, inv), 20*time.Second)
	if _, err := passkeyEnrolFails(a, made.GetInviteCode()); err == nil {
		t.Error("the revoked invite still enrols")
	}

	// Disable Wren.
	b.open("/?view=admin&tab=people")
	b.waitText(row, "Active")
	b.confirm(row + " button[data-disable]")
	b.waitText(row, "Disabled")
}

// passkeyEnrolFails tries to enrol a new tablet with code.
func passkeyEnrolFails(a *area, code string) (*device, error) {
	key := softKey(a.s)
	d := a.openDevice(key)
	return d, d.Enrol(a.ctx, key, code, "Spare tablet")
}

func TestBrowserAdminCreatesAndAssignsAClient(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	b := adminConsole(t, s, a)

	b.open("/?view=admin&tab=clients")
	b.visible("#client-form")
	b.setValue("#cl-team", team)
	b.typeInto("#cl-given", "Alex")
	b.typeInto("#cl-family", "Smith")
	b.setValue("#cl-dob", "1990-04-02")
	b.setValue("#cl-pathway", "drr")
	b.click("#client-form button[type=submit]")
	b.waitText("#clients", "Alex Smith")
	id := b.eval(`document.querySelector('#clients tbody tr').dataset.client`).(string)
	row := fmt.Sprintf(`#clients tr[data-client=%q]`, id)
	b.waitText(row, "Nobody")

	b.setValue(row+" form[data-assign] select", wren.UserID())
	b.click(row + " form[data-assign] button")
	assigned := fmt.Sprintf(`%s li[data-worker=%q]`, row, wren.UserID())
	b.waitText(assigned, "Wren Worker")
	b.shot("client-assigned")
	wren.mustSync(t)
	got, err := wren.Client(a.ctx, id)
	if err != nil || got.GivenName != "Alex" || got.FamilyName != "Smith" || got.Pathway != "drr" || got.DateOfBirth != (caseload.Date{Year: 1990, Month: 4, Day: 2}) {
		t.Fatalf("the worker's tablet holds %+v, %v", got, err)
	}

	b.confirm(row + " button[data-close]")
	b.waitText(row, "Closed")
	wren.mustSync(t)
	if got, err := wren.Client(a.ctx, id); err != nil || got.Status != "closed" {
		t.Errorf("after closing, the tablet holds status %q, %v", got.Status, err)
	}

	b.confirm(assigned + " button[data-unassign]")
	b.waitFor("the assignment to end", fmt.Sprintf(`!document.querySelector('#clients[aria-busy]') && !document.querySelector(%q)`, assigned), 20*time.Second)
	b.waitText(row, "Nobody")
	b.shot("client-closed")
}

func TestBrowserAdminScreensHiddenFromSupervisors(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	b := newBrowser(t, s)
	b.enrol(a.namedInvite(v1.Role_ROLE_SUPERVISOR, team, "Sam Supervisor"))
	b.waitText("#who", "Sam Supervisor")
	if got := b.eval(`document.querySelector('#nav [data-view=admin]').hidden && document.querySelector('#nav [data-view=audit]').hidden`); got != true {
		t.Error("a supervisor is offered the administration screens")
	}
	b.open("/?view=admin&tab=people")
	b.waitFor("the queue instead", `!!document.getElementById('queue')`, 20*time.Second)
	if got := b.eval(`!!document.getElementById('admin')`); got != false {
		t.Error("a supervisor sees the administration screens at their address")
	}
	// The server refuses them whatever the page offers.
	for _, c := range []struct{ method, body string }{
		{"ListUserDevices", fmt.Sprintf(`{"userId": %q}`, wren.UserID())},
		{"RevokeUserDevice", fmt.Sprintf(`{"userId": %q, "deviceId": %q}`, wren.UserID(), wren.DeviceID())},
		{"DisableUser", fmt.Sprintf(`{"userId": %q}`, wren.UserID())},
		{"CreateTeam", `{"name": "Mine"}`},
	} {
		got := b.eval(fmt.Sprintf(`fetch('/throughcare.v1.AdminService/%s', {method: 'POST', body: %q, headers: {'Content-Type': 'application/json',
			Authorization: 'Bearer ' + JSON.parse(sessionStorage.getItem('throughcare.session')).accessToken}}).then((r) => r.json()).then((j) => j.code)`, c.method, c.body))
		if got != "permission_denied" {
			t.Errorf("a supervisor's %s: %v, want permission_denied", c.method, got)
		}
	}
	wren.mustSync(t) // the worker's tablet was not revoked
}
