package e2e

// A browser test of the client page's change from start: TOPs a tablet
// records offline reach the console once it syncs, start against latest,
// each item's direction in words, and "Not answered" shown as such; and
// the team's outcome movement page counting that client.

import (
	"fmt"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestBrowserTOPChangeFromStart: a tablet records a client's start TOP
// and a review TOP without syncing; the console's client page has no
// change from start yet. Once the tablet syncs, the page shows, per
// domain, each item's start and latest score and its direction: less
// opiate use and a better quality of life are better, more shoplifting
// is worse, the same cannabis use is the same, and crack (not answered at
// the start) cannot be compared.
func TestBrowserTOPChangeFromStart(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	alex := a.client(team, "Alex", "Smith")
	a.assign(alex, wren)
	wren.mustSync(t)
	for _, r := range []caseload.OutcomeReview{
		{InterviewDate: caseload.DateOf(time.Now().AddDate(0, 0, -90)), Stage: "start", NotAnswered: []string{"crack"},
			Answers: map[string]caseload.TOPAnswer{
				"opiates": {Weeks: [4]int{5, 5, 5, 5}}, "cannabis": {Weeks: [4]int{2, 2, 2, 2}},
				"shoplifting": {Days: 6}, "quality_of_life": {Rating: 8}, "acute_housing_problem": {Yes: true},
			}},
		{InterviewDate: caseload.DateOf(time.Now().AddDate(0, 0, -3)), Stage: "review",
			Answers: map[string]caseload.TOPAnswer{
				"opiates": {Weeks: [4]int{1, 0, 0, 0}}, "cannabis": {Weeks: [4]int{2, 2, 2, 2}}, "crack": {},
				"shoplifting": {Days: 9}, "quality_of_life": {Rating: 14}, "acute_housing_problem": {Yes: false},
			}},
	} {
		if _, err := wren.RecordOutcomeReview(t.Context(), alex, r); err != nil {
			t.Fatalf("RecordOutcomeReview %s: %v", r.Stage, err)
		}
	}

	b := newBrowser(t, s)
	b.enrol(a.namedInvite(v1.Role_ROLE_SUPERVISOR, team, "Sam Supervisor"))
	b.open("/?view=client&client=" + alex)
	b.waitText("#top-change-status", "No start TOP recorded yet.") // the tablet has not synced

	wren.mustSync(t)
	b.reload()
	b.waitFor("the change from start", `document.querySelectorAll('#top-change tr[data-item]').length > 0`, 20*time.Second)
	b.waitText("#top-change-status", "latest TOP")
	for _, c := range []struct{ section, item, start, latest, movement, words string }{
		{"substance_use", "opiates", "20 days of 28", "1 day of 28", "improved", "Better"},
		{"substance_use", "cannabis", "8 days of 28", "8 days of 28", "unchanged", "Same"},
		{"substance_use", "crack", "Not answered", "0 days of 28", "unknown", "Cannot compare"},
		{"crime", "shoplifting", "6 days of 28", "9 days of 28", "worsened", "Worse"},
		{"health_and_social_functioning", "quality_of_life", "8 of 20", "14 of 20", "improved", "Better"},
		{"health_and_social_functioning", "acute_housing_problem", "Yes", "No", "improved", "Better"},
		{"injecting", "injecting", "Not answered", "Not answered", "unknown", "Cannot compare"},
	} {
		row := fmt.Sprintf(`#top-change figure[data-section=%q] tr[data-item=%q]`, c.section, c.item)
		if got := b.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.movement`, row)); got != c.movement {
			t.Errorf("%s: movement %v, want %s", c.item, got, c.movement)
		}
		for _, cell := range []struct{ css, want string }{{"td.start", c.start}, {"td.latest", c.latest}, {"td.movement", c.words}} {
			if got := b.text(row + " " + cell.css); got != cell.want {
				t.Errorf("%s %s = %q, want %q", c.item, cell.css, got, cell.want)
			}
		}
	}
	if got := b.eval(`document.querySelectorAll('#top-change figure.top-domain svg.plot').length`); got != float64(4) {
		t.Errorf("%v domain charts, want 4", got)
	}
	b.shot("top-change")

	// The team's outcome movement (the last 12 weeks: Alex's review is in
	// them) counts Alex, with the clients behind every figure; crack, not
	// answered at the start, leaves Alex out of its base.
	b.open("/?view=outcomes")
	b.waitText("#outcomes-compared .big", "1")
	for _, c := range []struct{ measure, item, clients, base, notAnswered string }{
		{"abstinent", "opiates", "0", "1", "0"}, // 1 day at review
		{"reduced", "opiates", "1", "1", "0"},   // 20 days to 1
		{"abstinent", "crack", "0", "0", "1"},
		{"reduced", "shoplifting", "0", "1", "0"}, // 6 days to 9
		{"resolved", "acute_housing_problem", "1", "1", "0"},
	} {
		row := fmt.Sprintf(`#movement tr[data-measure=%q][data-item=%q]`, c.measure, c.item)
		for _, cell := range []struct{ css, want string }{{"td.clients", c.clients}, {"td.base", c.base}, {"td.not-answered", c.notAnswered}} {
			if got := b.text(row + " " + cell.css); got != cell.want {
				t.Errorf("%s %s %s = %q, want %q", c.measure, c.item, cell.css, got, cell.want)
			}
		}
	}
	if got := b.eval(`document.querySelectorAll('#outcomes svg.plot').length`); got != float64(1) {
		t.Errorf("%v movement charts, want 1", got)
	}
	b.shot("outcome-movement")
}
