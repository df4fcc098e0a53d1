package e2e

// A browser test of the console's dates in an American browser: shown as
// "7 Dec 2026" (en-GB, one formatter) and typed as yyyy-mm-dd, never in
// the browser's locale (an <input type=date> there reads mm/dd/yyyy).

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func TestBrowserDatesInAnAmericanBrowser(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	a.namedInvite(v1.Role_ROLE_WORKER, team, "Kit Keyworker") // pending, with an expiry to show
	b := adminConsoleIn(t, s, a, "en-US")

	// The browser is American: left to itself it writes 12/7/2026.
	if got := b.eval(`navigator.language + ' ' + new Date(Date.UTC(2026, 11, 7)).toLocaleDateString(undefined, {timeZone: 'UTC'})`); got != "en-US 12/7/2026" {
		t.Fatalf("the browser's locale: %v, want en-US writing 12/7/2026", got)
	}
	noDateControls := func(where string) {
		t.Helper()
		if got := b.eval(`document.querySelectorAll('input[type=date], input[type=datetime-local], input[type=month], input[type=week]').length`); got != 0.0 {
			t.Errorf("%s: %v locale-drawn date controls", where, got)
		}
	}

	// A date of birth is typed as yyyy-mm-dd; 02/04/1990, which reads two
	// ways, is refused before anything is sent, as is a day that does not exist.
	b.open("/?view=admin&tab=clients")
	b.visible("#client-form")
	noDateControls("the new client form")
	if got := b.eval(`document.getElementById('cl-dob').placeholder`); got != "yyyy-mm-dd" {
		t.Errorf("the date of birth's placeholder is %v, want yyyy-mm-dd", got)
	}
	b.setValue("#cl-team", team)
	b.typeInto("#cl-given", "Alex")
	b.typeInto("#cl-family", "Smith")
	b.setValue("#cl-pathway", "drr")
	for _, bad := range []string{"02/04/1990", "1990-02-30", "1990-4-2"} {
		b.typeInto("#cl-dob", bad)
		if got := b.eval(`(() => { const el = document.getElementById('cl-dob'); return el.validity.valid + ' ' + el.validationMessage; })()`); got != "false Enter a real date as yyyy-mm-dd, for example 2026-12-07" {
			t.Errorf("%s: the date of birth's validity is %v", bad, got)
		}
		b.click("#client-form button[type=submit]")
	}
	b.typeInto("#cl-dob", "1990-04-02")
	b.click("#client-form button[type=submit]")
	b.waitText("#clients", "Alex Smith")
	if got := b.eval(`document.querySelectorAll('#clients tbody tr').length`); got != 1.0 {
		t.Fatalf("%v clients after three refused dates and one good one, want 1", got)
	}
	id := b.eval(`document.querySelector('#clients tbody tr').dataset.client`).(string)
	a.assign(id, wren)
	wren.mustSync(t)
	if got, err := wren.Client(a.ctx, id); err != nil || got.DateOfBirth != (caseload.Date{Year: 1990, Month: 4, Day: 2}) {
		t.Fatalf("the worker's tablet holds date of birth %+v, %v; want 1990-04-02", got.DateOfBirth, err)
	}

	// Shown, the dates are British whatever the browser: the caseload's
	// date of birth, an invite's expiry, a device's enrolment.
	b.open("/?view=caseload")
	row := fmt.Sprintf(`#caseload tr[data-client=%q]`, id)
	b.waitText(row, "2 Apr 1990")
	stamp := regexp.MustCompile(`^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec) \d{4}, \d{2}:\d{2}$`)
	b.open("/?view=admin&tab=invites")
	b.waitText("#invites", "Kit Keyworker")
	if got := b.eval(`document.querySelector('#invites tbody tr td:nth-child(5)').textContent`).(string); !stamp.MatchString(got) {
		t.Errorf("an invite's expiry reads %q, want like 14 Dec 2026, 09:00", got)
	}
	b.open(fmt.Sprintf("/?view=admin&tab=devices&user=%s", wren.UserID()))
	dev := fmt.Sprintf(`#devices tr[data-device=%q]`, wren.DeviceID())
	b.waitText(dev, "Wren Worker's tablet")
	if got := b.eval(`document.querySelector('` + dev + ` td:nth-child(2)').textContent`).(string); !stamp.MatchString(got) {
		t.Errorf("a device's enrolment reads %q, want like 7 Dec 2026, 09:00", got)
	}

	// The queue's period is typed as yyyy-mm-dd and kept so in the address.
	b.open("/?view=queue")
	b.visible("#f-from")
	noDateControls("the queue's filters")
	b.typeInto("#f-from", "2026-12-01")
	b.typeInto("#f-to", "12/07/2026")
	if got := b.eval(`document.getElementById('f-to').validity.valid`); got != false {
		t.Error("the queue takes 12/07/2026 for a date")
	}
	b.typeInto("#f-to", "2026-12-07")
	b.click("#filters button[type=submit]")
	b.waitFor("the period in the address", `new URLSearchParams(location.search).get('to') === '2026-12-07'`, 20*time.Second)
	if got := b.eval(`new URLSearchParams(location.search).get('from') + ' ' + document.getElementById('f-from').value`); got != "2026-12-01 2026-12-01" {
		t.Errorf("the queue's from: %v", got)
	}
	b.open("/?view=stats")
	b.visible("#s-from")
	noDateControls("the statistics period")
	if got := b.eval(`/^\d{4}-\d{2}-\d{2}$/.test(document.getElementById('s-from').value)`); got != true {
		t.Errorf("the statistics period starts %v", b.eval(`document.getElementById('s-from').value`))
	}
	b.shot("dates-en-US")
}
