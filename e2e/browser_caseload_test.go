package e2e

// Browser tests of the supervisor's day: the caseload view's search, a
// missed appointment a tablet recorded offline showing in it, and the
// statistics page's one attendance definition matching its CSV.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/client-sdk/caseload"
)

// book writes an appointment with an outcome on a tablet through the SDK's
// generic Write (offline: nothing is sent until the next sync).
func book(t *testing.T, d *device, client string, at time.Time, typ, status, reason string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	edits := []caseload.Edit{
		{Field: "appointment_type", Value: caseload.String(typ)}, {Field: "starts_at", Value: caseload.Time(at)},
		{Field: "status", Value: caseload.String(status)}, {Field: "author", Value: caseload.String(d.UserID())},
	}
	if reason != "" {
		edits = append(edits, caseload.Edit{Field: "dna_reason", Value: caseload.String(reason)})
	}
	if err := d.Write(t.Context(), "appointment", client, id, edits...); err != nil {
		t.Fatalf("Write appointment: %v", err)
	}
	return id
}

// TestBrowserCaseload: a tablet records a missed appointment offline and
// syncs; the supervisor finds the client by search in the caseload, which
// shows the DNA; the statistics page states one attendance definition and
// rate, and its CSV carries the same.
func TestBrowserCaseload(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	w := newReviewWorld(t)
	b := w.b
	ago := func(days int) time.Time { return time.Now().Add(-time.Duration(days) * 24 * time.Hour) }
	book(t, w.wren, w.alex, ago(3), "keywork", "did_not_attend", "forgot")
	book(t, w.kit, w.jo, ago(5), "probation", "attended", "")
	book(t, w.kit, w.jo, ago(4), "court", "rescheduled", "")
	book(t, w.kit, w.jo, ago(2), "keywork", "cancelled_by_client", "")
	w.wren.mustSync(t)
	w.kit.mustSync(t)

	rows := func(n int) {
		t.Helper()
		b.waitFor(fmt.Sprintf("%d caseload rows", n),
			fmt.Sprintf(`!document.querySelector('#caseload[aria-busy]') && document.querySelectorAll('#caseload tbody tr').length === %d`, n), 20*time.Second)
	}
	b.open("/?view=caseload")
	rows(2)
	for _, tc := range []struct{ search, want string }{
		{"smi", "Alex Smith"},
		{"JB", "Jo Brown"},
		{"  BROWN  jo ", "Jo Brown"},
	} {
		b.setValue("#c-q", tc.search)
		b.click("#caseload-search button[type=submit]")
		rows(1)
		if got := b.text("#caseload tbody tr th a"); got != tc.want {
			t.Errorf("search %q found %q, want %q", tc.search, got, tc.want)
		}
		// The search text (a name, a date of birth) never goes in the
		// address, which reaches proxy logs and bookmarks; the history
		// entry keeps it for back and reload.
		if got := b.eval(`location.href`); strings.Contains(strings.ToLower(got.(string)), strings.ToLower(strings.TrimSpace(tc.search))) {
			t.Errorf("the address %q holds the search %q", got, tc.search)
		}
	}
	b.reload()
	rows(1)
	if got := b.eval(`document.getElementById('c-q').value`); got != "  BROWN  jo " {
		t.Errorf("after a reload the search box holds %q, want the last search", got)
	}
	b.setValue("#c-q", "'); <script>alert(1)</script>")
	b.click("#caseload-search button[type=submit]")
	b.waitText("#caseload", "No client matches")

	b.open("/?view=caseload&q=alex") // an old link's search is not read from the address
	rows(2)
	b.setValue("#c-q", "alex")
	b.click("#caseload-search button[type=submit]")
	rows(1)
	b.waitText(`#caseload tr[data-client="`+w.alex+`"] .badge.dna`, "1 DNA")
	if got := b.eval(`document.querySelector('#caseload tbody tr').classList.contains('dna')`); got != true {
		t.Errorf("the row of a client with a DNA is not highlighted")
	}
	b.shot("caseload-dna")

	// Statistics: 1 attended, 1 DNA (the reschedule and the cancellation
	// are shown but not in the rate): 50%, stated once, as in the CSV.
	b.open("/?view=stats")
	b.waitFor("the attendance definition", `(document.getElementById('attendance-definition')?.textContent ?? '').length > 20`, 20*time.Second)
	definition := b.text("#attendance-definition")
	rate := b.text("#attendance-rate .big")
	if rate != "50%" {
		t.Errorf("the page's attendance rate is %q, want 50%%", rate)
	}
	if got := b.eval(`[...document.querySelectorAll('#stats')].map((e) => (e.textContent.match(/% kept/g) ?? []).length)[0]`); got != 0.0 {
		t.Errorf("the page still shows %v 'kept' rates beside the definition", got)
	}
	b.click("#export-stats")
	csv := parseCSV(t, b.download(".csv"))
	col := func(name string) int { return slices.Index(csv[0], name) }
	var all []string
	for _, r := range csv[1:] {
		if r[0] == "appointments" && r[col("group")] == "all" {
			all = r
		}
	}
	if all == nil {
		t.Fatalf("the statistics CSV has no appointments total: %v", csv[0])
	}
	if got := all[col("attendance_rate_percent")] + "%"; got != rate {
		t.Errorf("the CSV's rate is %s, the page's %s", got, rate)
	}
	if got := all[col("definition")]; got != definition {
		t.Errorf("the CSV's definition %q differs from the page's %q", got, definition)
	}
	if all[col("did_not_attend")] != "1" || all[col("rescheduled")] != "1" || all[col("cancelled_by_client")] != "1" || !strings.Contains(all[col("dna_reasons")], "forgot=1") {
		t.Errorf("the CSV's appointment counts: %v", all)
	}
}
