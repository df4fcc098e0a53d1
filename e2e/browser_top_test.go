package e2e

// A browser test of the TOP schedule on the console: the caseload shows
// each client's next TOP, due or overdue, and the data-quality list it
// links to names a client in treatment with no review TOP.

import (
	"fmt"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestBrowserTOPDataQuality: a tablet records two clients' treatment
// starts and start TOPs offline, one five months ago (its review TOP,
// due at three months, never taken), one three weeks ago, and syncs. The
// supervisor's caseload flags the first's review TOP overdue and the
// second's as not yet due; the TOP data-quality list names the first only.
func TestBrowserTOPDataQuality(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	alex, jo := a.client(team, "Alex", "Smith"), a.client(team, "Jo", "Brown")
	a.assign(alex, wren)
	a.assign(jo, wren)
	wren.mustSync(t)
	for client, days := range map[string]int{alex: 150, jo: 21} {
		began := caseload.DateOf(time.Now().AddDate(0, 0, -days))
		if err := wren.Write(t.Context(), "client", client, client, caseload.Edit{Field: "treatment_started", Value: caseload.DateValue(began)}); err != nil {
			t.Fatalf("Write treatment_started: %v", err)
		}
		if _, err := wren.RecordOutcomeReview(t.Context(), client, caseload.OutcomeReview{InterviewDate: began, Stage: "start"}); err != nil {
			t.Fatalf("RecordOutcomeReview: %v", err)
		}
	}
	wren.mustSync(t)

	b := newBrowser(t, s)
	b.enrol(a.namedInvite(v1.Role_ROLE_SUPERVISOR, team, "Sam Supervisor"))
	b.open("/?view=caseload")
	b.waitFor("2 caseload rows", `!document.querySelector('#caseload[aria-busy]') && document.querySelectorAll('#caseload tbody tr').length === 2`, 20*time.Second)
	cell := func(client string) string { return fmt.Sprintf(`#caseload tr[data-client=%q] td.top-next`, client) }
	for _, tc := range []struct{ client, state, text string }{
		{alex, "overdue", "TOP overdue"},
		{jo, "not_yet", "Review TOP"},
	} {
		if got := b.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.topState`, cell(tc.client))); got != tc.state {
			t.Errorf("the caseload's next TOP of %s is %v, want %s", tc.client, got, tc.state)
		}
		b.waitText(cell(tc.client), tc.text)
	}
	b.waitText("#top-schedule", "every 3 months, 14 days either side")
	b.shot("caseload-top")

	b.click("#top-schedule a")
	b.waitFor("the TOP data-quality list", `!document.querySelector('#topissues[aria-busy]') && document.querySelectorAll('#topissues tbody tr').length === 1`, 20*time.Second)
	if got := b.eval(`document.querySelector('#topissues tbody tr').dataset.client`); got != alex {
		t.Errorf("the data-quality list names %v, want the client with no review TOP (%s)", got, alex)
	}
	b.waitText(`#topissues li[data-kind=review_missing]`, "No review TOP")
	b.waitText("#topissues-status", "1 of 2 open clients")
	b.shot("top-issues")
}
