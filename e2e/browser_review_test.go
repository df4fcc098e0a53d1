package e2e

// Browser tests of the review console's work: the queue, live arrivals,
// filters, timelines, reviews reaching the workers' tablets, conflicts,
// statistics, CSV exports and tablet-width layout.

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// reviewWorld is an area with two workers' tablets and their contacts,
// and a supervisor signed in to the console.
type reviewWorld struct {
	a          *area
	b          *browserTab
	team       string
	wren, kit  *device // workers' tablets
	alex, jo   string  // clients
	contacts   int     // contacts logged so far
	supervisor map[string]any
}

// newReviewWorld seeds the area through the SDK and enrols the supervisor
// in the browser. The browser's own JSON helpers for WebAuthn are removed
// first (Debian's Chromium may lack them), so the console's fallback
// encoding is what the server checks.
func newReviewWorld(t *testing.T) *reviewWorld {
	t.Helper()
	s := startServer(t, "--auth-burst", "100")
	a := newArea(t, s)
	w := &reviewWorld{a: a, team: a.team("Outreach North")}
	w.wren = a.enrolNamed(v1.Role_ROLE_WORKER, w.team, "Wren Worker")
	w.kit = a.enrolNamed(v1.Role_ROLE_WORKER, w.team, "Kit Keyworker")
	w.alex = a.client(w.team, "Alex", "Smith")
	w.jo = a.client(w.team, "Jo", "Brown")
	a.assign(w.alex, w.wren)
	a.assign(w.alex, w.kit)
	a.assign(w.jo, w.kit)
	w.wren.mustSync(t)
	w.kit.mustSync(t)

	day := func(n int) time.Time { return time.Now().Add(-time.Duration(n) * 24 * time.Hour) }
	w.log(t, w.wren, w.alex, caseload.Contact{OccurredAt: day(20), Category: "housing", Mode: "home_visit",
		Outcome: "Viewed a flat with the housing officer", HousingStatusAfter: "temporary_accommodation"})
	w.log(t, w.wren, w.alex, caseload.Contact{OccurredAt: day(13), Category: "treatment_attendance", Mode: "community",
		Outcome: "Kept the appointment", Attendance: "attended", Provider: "Lambeth DAAT"})
	w.log(t, w.wren, w.alex, caseload.Contact{OccurredAt: day(6), Category: "drug_test", Mode: "office",
		Outcome: "Tested", TestResult: "negative"})
	w.log(t, w.kit, w.jo, caseload.Contact{OccurredAt: day(9), Category: "employment", Mode: "phone",
		Outcome: "Started a CSCS course", ETEStatusAfter: "in_training"})
	w.log(t, w.kit, w.jo, caseload.Contact{OccurredAt: day(2), Category: "treatment_attendance", Mode: "community",
		Outcome: "Missed the keywork session", Attendance: "did_not_attend", Provider: "Lambeth DAAT"})
	w.log(t, w.wren, w.alex, caseload.Contact{OccurredAt: day(4), Category: "housing", Mode: "community",
		Outcome: "Moved into supported housing", HousingStatusAfter: "supported_housing"})
	w.log(t, w.kit, w.jo, caseload.Contact{OccurredAt: day(1), Category: "employment", Mode: "office",
		Outcome: "Offered part-time work at the depot", ETEStatusAfter: "employed_part_time"})

	w.b = newBrowser(t, s)
	w.b.do("drop the WebAuthn JSON helpers", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			delete PublicKeyCredential.parseCreationOptionsFromJSON;
			delete PublicKeyCredential.parseRequestOptionsFromJSON;
			delete PublicKeyCredential.prototype.toJSON;`})
		return err
	}))
	w.b.open("/?invite=" + url.QueryEscape(a.namedInvite(v1.Role_ROLE_SUPERVISOR, w.team, "Sam Supervisor")))
	if got := w.b.eval(`typeof PublicKeyCredential.parseCreationOptionsFromJSON + typeof PublicKeyCredential.prototype.toJSON`); got != "undefinedundefined" {
		t.Fatalf("the WebAuthn JSON helpers are still there: %v", got)
	}
	w.b.click("#enrol button[type=submit]")
	w.b.visible("#nav")
	w.supervisor = w.b.session()
	w.b.waitFor("the live stream", `document.getElementById('live').dataset.state === 'live'`, 20*time.Second)
	return w
}

// log logs a contact on a worker's tablet and syncs it.
func (w *reviewWorld) log(t *testing.T, d *device, client string, c caseload.Contact) string {
	t.Helper()
	id, err := d.LogContact(w.a.ctx, client, c)
	if err != nil {
		t.Fatalf("LogContact: %v", err)
	}
	d.mustSync(t)
	w.contacts++
	return id
}

// rows counts the review queue's rows once it has shown n of them.
func (w *reviewWorld) waitRows(n int) {
	w.b.t.Helper()
	w.b.waitFor(fmt.Sprintf("%d rows in the queue", n),
		fmt.Sprintf(`!document.querySelector('#queue[aria-busy]') && document.querySelectorAll('#queue tbody tr').length === %d`, n), 20*time.Second)
}

// TestBrowserReview: the review queue fills from synced contacts, shows a
// new one live, filters; a client's timeline shows each record's history;
// marking a contact reviewed and raising a query reach the worker's tablet,
// whose answer comes back to the console.
func TestBrowserReview(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t) // fail (or skip) before starting anything
	w := newReviewWorld(t)
	b := w.b
	w.waitRows(w.contacts)
	b.shot("queue")

	// Live: a new contact appears at the top without a reload.
	fresh := w.log(t, w.wren, w.alex, caseload.Contact{OccurredAt: time.Now().Add(-time.Hour), Category: "family", Mode: "home_visit",
		Outcome: "Met Alex's sister about contact with the children"})
	b.waitText("#arrivals", "1 new contact")
	w.waitRows(w.contacts)
	if got := b.eval(`document.querySelector('#queue tbody tr').dataset.contact + ' ' + document.querySelector('#queue tbody tr').classList.contains('fresh')`); got != fresh+" true" {
		t.Errorf("first row = %v, want the new contact %s, highlighted", got, fresh)
	}
	b.shot("queue-live")

	// Filter by category, then by worker and review state.
	b.setValue("#f-category", "treatment_attendance")
	b.click("#filters button[type=submit]")
	w.waitRows(2)
	if got := b.eval(`location.search`); !strings.Contains(got.(string), "category=treatment_attendance") {
		t.Errorf("the filter is not in the address: %v", got)
	}
	b.waitFor("the worker list", `document.querySelectorAll('#f-worker option').length > 2`, 10*time.Second)
	b.setValue("#f-worker", w.kit.UserID())
	b.click("#filters button[type=submit]")
	w.waitRows(1)
	b.waitText("#queue tbody", "Missed the keywork session")
	b.shot("queue-filtered")
	b.click("#filters button.quiet")
	w.waitRows(w.contacts)

	// A date range: the last ten days (whole days, in the browser's zone).
	b.setValue("#f-from", time.Now().AddDate(0, 0, -10).Format(time.DateOnly))
	b.setValue("#f-to", time.Now().Format(time.DateOnly))
	b.click("#filters button[type=submit]")
	w.waitRows(6) // all but the contacts of 13 and 20 days ago
	b.click("#filters button.quiet")
	w.waitRows(w.contacts)

	// Paging, three to a page.
	b.open("/?view=queue&size=3")
	w.waitRows(3)
	b.click(".pager button.older")
	w.waitRows(3)
	b.waitText("#queue-status", "Showing 4–6")
	b.click(".pager button.older")
	w.waitRows(w.contacts - 6)
	if got := b.eval(`document.querySelector('.pager button.older').disabled`); got != true {
		t.Error("the last page offers an older one")
	}
	b.click(".pager button.newer")
	w.waitRows(3)
	b.waitText("#queue-status", fmt.Sprintf("Showing 4–6 of %d", w.contacts))
	// The page is in the address: a reload, or the address opened afresh,
	// comes back to it.
	if got := b.eval(`new URLSearchParams(location.search).get('page')`); got != "1" {
		t.Errorf("the address keeps page %v, want 1", got)
	}
	b.reload()
	w.waitRows(3)
	b.waitText("#queue-status", "Showing 4–6")
	b.open("/?view=queue&size=3&page=1")
	w.waitRows(3)
	b.waitText("#queue-status", "Showing 4–6")
	b.open("/?view=queue")
	w.waitRows(w.contacts)

	// Timeline: every record of Alex's with its history.
	b.click(`#queue tbody tr[data-contact="` + fresh + `"] td:nth-child(2) a`)
	b.visible(".records")
	b.waitText("main h1", "Alex Smith")
	if n := b.eval(`document.querySelectorAll('.records article.card').length`); n != 5.0 {
		t.Errorf("Alex's timeline shows %v contacts, want 5", n)
	}
	b.click(`article[data-record="` + fresh + `"] details.history summary`)
	b.waitText(`article[data-record="`+fresh+`"] details.history`, "Wren Worker")
	b.waitText(`article[data-record="`+fresh+`"] details.history`, "Outcome")
	b.shot("timeline")

	// Mark the new contact reviewed, from its page: the console moves on
	// to the next unreviewed contact, and the reviewed one says so.
	b.click(`article[data-record="` + fresh + `"] header a`)
	b.visible(".decision")
	b.waitText("#contact-times", "synced")
	b.click(`button[data-decision="REVIEW_DECISION_REVIEWED"]`)
	b.waitFor("the next unreviewed contact", `new URLSearchParams(location.search).get('contact') !== '`+fresh+
		`' && document.getElementById('review-state')?.textContent === 'Not reviewed'`, 20*time.Second)
	b.open("/?view=contact&client=" + w.alex + "&contact=" + fresh)
	b.waitText("#review-state", "Reviewed")

	// Raise a query on the latest housing contact; the worker's tablet gets it.
	b.open("/?view=queue&category=housing")
	w.waitRows(2)
	housing := b.eval(`document.querySelector('#queue tbody tr').dataset.contact`).(string)
	b.click("#queue tbody tr td.act a")
	b.visible("#comment")
	b.typeInto("#comment", "Which flat was it, and is the tenancy offer in writing?")
	b.click(`button[data-decision="REVIEW_DECISION_QUERY"]`)
	b.waitText("#review-state", "Query open")
	b.shot("contact-query")

	w.wren.mustSync(t)
	tl, err := w.wren.Timeline(w.a.ctx, w.alex)
	if err != nil {
		t.Fatal(err)
	}
	var query *caseload.ReviewNote
	states := map[string]string{}
	for i, n := range tl.ReviewNotes {
		states[n.SubjectID] = n.State
		if n.SubjectID == housing {
			query = &tl.ReviewNotes[i]
		}
	}
	if states[fresh] != "reviewed" {
		t.Errorf("the worker's tablet has the reviewed contact's note in state %q, want reviewed", states[fresh])
	}
	if query == nil || query.State != "query_to_worker" || !strings.Contains(query.Text, "Which flat") {
		t.Fatalf("the worker's tablet has no query about the housing contact: %+v", tl.ReviewNotes)
	}

	// An answer of only white space is no answer: the query stays open
	// (the console's schema.js has the registry's rule).
	if err := w.wren.RespondToReview(w.a.ctx, w.alex, query.ID, " \n\u00a0"); err != nil {
		t.Fatal(err)
	}
	w.wren.mustSync(t)
	b.reload()
	b.waitText("#review-state", "Query open")
	b.waitText(".note", "Query to worker")

	// The worker answers on the tablet; the console shows the answer.
	if err := w.wren.RespondToReview(w.a.ctx, w.alex, query.ID, "Flat 3, Brixton Hill; the offer letter is on file."); err != nil {
		t.Fatal(err)
	}
	w.wren.mustSync(t)
	b.reload()
	b.waitText("#review-state", "Query answered")
	b.waitText(".note", "Flat 3, Brixton Hill")
	b.click(`button[data-decision="REVIEW_DECISION_RESOLVED"]`)
	b.waitText("#review-state", "Resolved")
	b.shot("contact-resolved")

	b.open("/?view=queue&state=REVIEW_STATE_RESOLVED")
	w.waitRows(1)

	// A client out of reach (or made up) is a typed error, not a blank page.
	b.open("/?view=queue&client=0193a7e2-0000-7000-8000-000000000000")
	b.visible("#queue .state.error")
	b.waitText("#queue .state.error", "not_found")
	b.open("/?view=client&client=0193a7e2-0000-7000-8000-000000000000")
	b.visible("main .state.error")
	b.shot("not-found")
}

// TestBrowserConflictsStatisticsExports: two tablets edit one field of a
// client concurrently, the supervisor settles it in the console with a new
// value and every device converges; the statistics are drawn; both CSV
// exports download with the right rows; the pages fit a tablet's width.
func TestBrowserConflictsStatisticsExports(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t) // fail (or skip) before starting anything
	w := newReviewWorld(t)
	b := w.b
	ctx := w.a.ctx

	// Both tablets hold Alex's record; each changes the housing status
	// without having seen the other's change.
	if err := w.wren.UpdateClient(ctx, w.alex, caseload.Edit{Field: "housing_status", Value: caseload.String("hostel")}); err != nil {
		t.Fatal(err)
	}
	if err := w.kit.UpdateClient(ctx, w.alex, caseload.Edit{Field: "housing_status", Value: caseload.String("settled_tenancy")}); err != nil {
		t.Fatal(err)
	}
	w.wren.mustSync(t)
	w.kit.mustSync(t)
	w.wren.mustSync(t)
	for _, d := range []*device{w.wren, w.kit} {
		if cs, _ := d.Conflicts(ctx); len(cs) != 1 {
			t.Fatalf("a tablet holds %d conflicts, want 1", len(cs))
		}
	}

	b.open("/?view=conflicts")
	b.visible(".conflict-card")
	b.waitText("#nav-conflicts", "1") // the count in the navigation
	b.waitText(".conflict-card", "Alex Smith")
	b.waitText(".conflict-card", "Hostel")
	b.waitText(".conflict-card", "Settled tenancy")
	// The side marked as shown is what every tablet shows.
	shown, err := w.wren.Client(ctx, w.alex)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hostel": "Hostel", "settled_tenancy": "Settled tenancy"}[shown.HousingStatus]
	if got := b.text(".side.shown .value"); got != want {
		t.Errorf("the console marks %q as shown, the tablets show %q", got, want)
	}
	b.shot("conflict")
	sel := ".conflict-card form.inline select"
	b.setValue(sel, "supported_housing")
	b.click(".conflict-card form.inline button[type=submit]")
	b.waitText("#conflicts", "No open conflicts")
	b.waitFor("the navigation's count to go", `document.getElementById('nav-conflicts').hidden`, 20*time.Second)
	b.shot("conflict-resolved")

	for name, d := range map[string]*device{"Wren": w.wren, "Kit": w.kit} {
		d.mustSync(t)
		c, err := d.Client(ctx, w.alex)
		if err != nil {
			t.Fatal(err)
		}
		if c.HousingStatus != "supported_housing" || len(c.Conflicts) != 0 {
			t.Errorf("%s's tablet: housing status %q with %d conflicts, want supported_housing and none", name, c.HousingStatus, len(c.Conflicts))
		}
	}

	// Statistics: weekly contacts by category, attendance, quiet clients.
	b.open("/?view=stats&quiet=3")
	b.waitFor("the charts", `document.querySelectorAll('#stats svg.plot rect').length > 0`, 20*time.Second)
	b.waitText(".tiles .tile:first-child", fmt.Sprint(w.contacts))
	b.waitText("#stats", "Wren Worker")
	b.waitText("#stats", "Kit Keyworker")
	b.waitText("#quiet", "Alex Smith") // no contact for 4 days
	b.waitText("#stats", "Temporary accommodation → Supported housing")
	b.waitText("#stats", "In training → Employed part time")
	b.shot("statistics")

	b.click("#export-stats")
	stats := parseCSV(t, b.download(".csv"))
	if len(stats) < 2 || stats[0][0] != "section" {
		t.Fatalf("statistics CSV starts %v", stats[:min(len(stats), 2)])
	}
	sections := map[string]int{}
	for _, r := range stats[1:] {
		sections[r[0]]++
	}
	if sections["weekly"] == 0 || sections["attendance"] == 0 {
		t.Errorf("statistics CSV sections = %v, want weekly and attendance rows", sections)
	}

	b.open("/?view=queue")
	w.waitRows(w.contacts)
	b.click("#export-contacts")
	rows := parseCSV(t, b.download(".csv"))
	if len(rows) != w.contacts+1 {
		t.Fatalf("contacts CSV has %d lines, want a header and %d contacts", len(rows), w.contacts)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	found := false
	for _, r := range rows[1:] {
		if r[col["client_name"]] == "Alex Smith" && r[col["category"]] == "drug_test" && r[col["author_name"]] == "Wren Worker" {
			found = true
		}
	}
	if !found {
		t.Errorf("contacts CSV has no drug test of Alex Smith's by Wren Worker:\n%v", rows)
	}

	// A tablet in portrait: nothing wider than the screen.
	b.viewport(820, 1180)
	for _, view := range []string{"/?view=queue", "/?view=client&client=" + w.alex, "/?view=stats", "/?view=conflicts"} {
		b.open(view)
		b.waitFor("the page", `!document.querySelector('[aria-busy="true"]') && !document.querySelector('.loading')`, 20*time.Second)
		b.eval(`document.querySelectorAll('details.history').forEach((d) => { d.open = true; }), true`)
		if got := b.eval(`document.documentElement.scrollWidth <= window.innerWidth`); got != true {
			t.Errorf("%s is wider than a tablet (%v px)", view, b.eval(`document.documentElement.scrollWidth`))
		}
		if got := b.eval(`[...document.querySelectorAll('.table-wrap, svg.plot')].filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > innerWidth).length`); got != 0.0 {
			t.Errorf("%s: %v tables or charts do not fit a tablet's width: %v", view, got,
				b.eval(`[...document.querySelectorAll('.table-wrap, svg.plot')].map((e) => e.parentElement.className + ' ' + e.scrollWidth + '/' + e.clientWidth + ' ' + e.getBoundingClientRect().right)`))
		}
		b.shot("tablet-" + strings.TrimPrefix(strings.SplitN(view, "&", 2)[0], "/?view="))
	}
}

func parseCSV(t *testing.T, text string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("the download is not CSV: %v\n%s", err, text)
	}
	return rows
}
