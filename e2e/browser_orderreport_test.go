package e2e

// A browser test of the court order review report page: the order, the
// period and the comments chosen on the console, the period's records
// listed, printed and downloaded as the server's HTML document.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestBrowserOrderReport: a tablet records a DRR, appointments (one a
// review hearing of the order) and drug-test contacts on the period's
// first and last days and on the days either side, and TOPs before, in
// and after the period, and syncs. The
// supervisor opens the order's report from the client page, chooses the
// period and types both comments: the report lists exactly the period's
// appointments and tests, the download is the server's document with the
// same records and the comments, and printing hides the form and the
// navigation.
func TestBrowserOrderReport(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	alex := a.client(team, "Alex", "Smith")
	a.assign(alex, wren)
	wren.mustSync(t)
	ctx := t.Context()

	today := time.Now().In(caseday.Zone)
	noon := func(days int) time.Time {
		d := today.AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, caseday.Zone)
	}
	first, last := -40, -20 // the period, in days from today
	order, err := wren.RecordOrder(ctx, alex, caseload.Order{Kind: "drr", Court: "Camberwell Green Magistrates",
		Start: caseload.DateOf(noon(first - 30)), TestingFrequency: "weekly", ReviewIntervalDays: 28})
	if err != nil {
		t.Fatalf("RecordOrder: %v", err)
	}
	book := func(days int, typ string) string {
		t.Helper()
		id, err := wren.BookAppointment(ctx, alex, caseload.Appointment{Type: typ, StartsAt: noon(days), DurationMinutes: 30})
		if err != nil {
			t.Fatalf("BookAppointment: %v", err)
		}
		return id
	}
	test := func(days int, result string) string {
		t.Helper()
		id, err := wren.LogContact(ctx, alex, caseload.Contact{OccurredAt: noon(days), Category: "drug_test", Mode: "office",
			TestResult: result, Substances: map[string][]string{"positive": {"opiates"}}[result]})
		if err != nil {
			t.Fatalf("LogContact: %v", err)
		}
		return id
	}
	inFirst := book(first, "keywork")
	if _, err := wren.RecordAttendance(ctx, alex, inFirst, caseload.Outcome{Attended: true}); err != nil {
		t.Fatalf("RecordAttendance: %v", err)
	}
	hearing, err := wren.BookReviewHearing(ctx, alex, order, caseload.Appointment{StartsAt: noon(last), DurationMinutes: 60})
	if err != nil {
		t.Fatalf("BookReviewHearing: %v", err)
	}
	book(first-1, "keywork")
	book(last+1, "keywork")
	testFirst, testLast := test(first, "positive"), test(last, "negative")
	test(first-1, "negative")
	test(last+1, "positive")
	if _, err := wren.LogContact(ctx, alex, caseload.Contact{OccurredAt: noon(first + 3), Category: "housing", Mode: "phone"}); err != nil {
		t.Fatalf("LogContact housing: %v", err)
	}
	for _, top := range []struct {
		days  int
		stage string
		weeks [4]int
	}{{first - 25, "start", [4]int{7, 7, 7, 7}}, {first + 5, "review", [4]int{2, 1, 0, 0}}, {last + 2, "review", [4]int{7, 7, 7, 7}}} {
		if _, err := wren.RecordOutcomeReview(ctx, alex, caseload.OutcomeReview{InterviewDate: caseload.DateOf(noon(top.days)), Stage: top.stage,
			Answers: map[string]caseload.TOPAnswer{"opiates": {Weeks: top.weeks}}}); err != nil {
			t.Fatalf("RecordOutcomeReview: %v", err)
		}
	}
	wren.mustSync(t)

	b := newBrowser(t, s)
	b.enrol(a.namedInvite(v1.Role_ROLE_SUPERVISOR, team, "Sam Supervisor"))
	b.open("/?view=client&client=" + alex)
	b.waitText("#client-orders", "DRR")
	b.click(fmt.Sprintf(`#client-orders li[data-record=%q] a`, order))
	b.visible("#report-order")
	if got := b.eval(`document.querySelector('#report-order').value`); got != order {
		t.Errorf("the report page chose order %v, want %s", got, order)
	}
	b.setValue("#report-from", caseload.DateOf(noon(first)).String())
	b.setValue("#report-to", caseload.DateOf(noon(last)).String())
	b.typeInto("#report-keyworker", "Engaging well.\nTwo tests.")
	b.typeInto("#report-provider", "<b>Attends</b> group work")
	b.click("#report-show")
	b.visible("#order-report")

	ids := func(table string) string {
		return fmt.Sprint(b.eval(fmt.Sprintf(`[...document.querySelectorAll('#order-report table.%s tbody tr[data-id]')].map((r) => r.dataset.id).join(' ')`, table)))
	}
	if got, want := ids("report-appointments"), inFirst+" "+hearing; got != want {
		t.Errorf("the report's appointments are %q, want the period's %q", got, want)
	}
	if got, want := ids("report-tests"), testFirst+" "+testLast; got != want {
		t.Errorf("the report's drug tests are %q, want the period's %q", got, want)
	}
	b.waitText(fmt.Sprintf(`tr[data-id=%q]`, hearing), "(this order)")
	b.waitText("#report-attendance", "1 attended")
	b.waitText("#report-provider-text", "<b>Attends</b> group work")
	b.waitText("#report-top", "latest "+b.eval(fmt.Sprintf(`new Intl.DateTimeFormat('en-GB', {dateStyle: 'medium', timeZone: 'UTC'}).format(new Date(%q))`,
		caseload.DateOf(noon(first+5)).String())).(string))
	if got := b.eval(`[...document.querySelectorAll('#order-report table.report-top tr[data-item=opiates] td')].map((c) => c.innerText).join('|')`); got != "Opiates|28|3|Improved" {
		t.Errorf("the report's opiates TOP row is %v, want start 28, latest 3 (the review in the period), improved", got)
	}
	b.shot("order-report")

	b.click("#report-download")
	doc := b.download(".html")
	for _, want := range []string{"Court order review report", inFirst, hearing, testFirst, testLast, "Engaging well.", "&lt;b&gt;Attends&lt;/b&gt;"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the downloaded report lacks %q", want)
		}
	}
	if strings.Contains(doc, "<b>Attends") {
		t.Error("the downloaded report does not escape the provider's comment")
	}

	b.eval(`window.print = () => { window.printed = true; }; true`)
	b.click("#report-print")
	if got := b.eval(`window.printed === true`); got != true {
		t.Error("the Print button does not print")
	}
	b.do("print media", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	shown := func(css string) any {
		return b.eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display !== 'none'`, css))
	}
	for css, want := range map[string]bool{".topbar": false, ".report-form": false, ".report-actions": false, ".page-head a": false, "#order-report": true} {
		if got := shown(css); got != want {
			t.Errorf("printing, %s shown = %v, want %v", css, got, want)
		}
	}
}
