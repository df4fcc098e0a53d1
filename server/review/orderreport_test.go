package review

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

func vdate(y, m, d int32) *v1.Date { return &v1.Date{Year: y, Month: m, Day: d} }

// A record is in the period when its Europe/London service day is: the
// first and last days in, the days either side out, across the change to
// summer time (29 March 2026).
func TestOrderReportPeriodBoundaries(t *testing.T) {
	p := period{from: dayNumber(vdate(2026, 3, 1)), to: dayNumber(vdate(2026, 3, 31))}
	for _, tt := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"the day before, last minute", time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC), false},
		{"the first day, midnight", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{"the last day, 23:59 BST", time.Date(2026, 3, 31, 22, 59, 0, 0, time.UTC), true},
		{"the day after, 00:00 BST (still 31 March in UTC)", time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), false},
		{"the day after, noon", time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), false},
	} {
		if got := p.contains(tt.at); got != tt.want {
			t.Errorf("%s: contains = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The report lists exactly the period's appointments and drug tests of
// the client, the order's attendance, and leaves one audit entry naming
// the client, the order and how many records it included.
func TestOrderReport(t *testing.T) {
	w := newWorld(t)
	order := w.dev1.NewID()
	w.push(w.dev1, w.dev1.Record("court_order", order, w.c1, []sample.Field{
		{Name: "kind", Value: sample.Str("drr")}, {Name: "start_date", Value: sample.Date(2026, 1, 5)},
		{Name: "author", Value: sample.Str(w.dev1.UserID)},
	}), nil)
	in1 := w.appointment(w.dev1, w.c1, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "keywork", "attended", "")
	in2 := w.appointment(w.dev1, w.c1, time.Date(2026, 3, 31, 22, 59, 0, 0, time.UTC), "drr_review_hearing", "did_not_attend", "unwell")
	w.appointment(w.dev1, w.c1, time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC), "keywork", "attended", "")
	w.appointment(w.dev1, w.c1, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), "keywork", "attended", "")
	t1 := w.contact(w.dev1, w.c1, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), "drug_test",
		sample.Field{Name: "test_result", Value: sample.Str("positive")}, sample.Field{Name: "substances", Value: sample.Add("opiates")})
	w.contact(w.dev1, w.c1, time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC), "housing")
	w.contact(w.dev1, w.c1, time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC), "drug_test")

	req := &v1.GetOrderReportRequest{ClientId: w.c1, OrderId: order, From: vdate(2026, 3, 1), To: vdate(2026, 3, 31),
		KeyworkerComment: "<script>x</script>", Html: true}
	resp, err := w.svc.GetOrderReport(w.ctx, w.supA1, req)
	if err != nil {
		t.Fatal(err)
	}
	var appts, tests []string
	for _, a := range resp.GetAppointments() {
		appts = append(appts, a.GetAppointmentId())
	}
	for _, c := range resp.GetDrugTests() {
		tests = append(tests, c.GetContactId())
	}
	if !slices.Equal(appts, []string{in1, in2}) || !slices.Equal(tests, []string{t1}) {
		t.Fatalf("appointments %v, tests %v; want [%s %s], [%s]", appts, tests, in1, in2, t1)
	}
	if a := resp.GetAttendance(); a.GetAttended() != 1 || a.GetDidNotAttend() != 1 || a.GetAttendanceRatePercent() != 50 {
		t.Errorf("attendance = %+v, want 1 attended, 1 not, 50%%", a)
	}
	if h := resp.GetHtml(); !strings.Contains(h, in2) || !strings.Contains(h, t1) || strings.Contains(h, "<script>x") {
		t.Errorf("the HTML lacks the period's records or does not escape a comment")
	}
	got := fixture.AreaAudit(t, w.st, w.areaA)
	if len(got) != 1 || got[0].Action != store.AuditViewOrderReport || !slices.Equal(got[0].ClientIDs, []string{w.c1}) ||
		got[0].RecordID != order || got[0].Count != 4 || got[0].UserID != w.supA1.UserID {
		t.Fatalf("audit after one report: %+v, want one view_order_report of the order counting 4 records", got)
	}
	// The period in London time: 1 March is GMT, 31 March ends in BST.
	if from, to := got[0].From, got[0].To; !from.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("audited period %v to %v, want 2026-03-01T00:00Z to 2026-03-31T23:00Z", from, to)
	}
}

// Staff get reports for clients in reach, workers for clients assigned to
// them now; anything else is NotFound, a bad period Invalid.
func TestOrderReportAccess(t *testing.T) {
	w := newWorld(t)
	order := w.dev1.NewID()
	w.push(w.dev1, w.dev1.Record("court_order", order, w.c1, []sample.Field{
		{Name: "kind", Value: sample.Str("drr")}, {Name: "start_date", Value: sample.Date(2026, 1, 5)},
		{Name: "author", Value: sample.Str(w.dev1.UserID)},
	}), nil)
	if err := w.st.Directory(w.ctx, func(tx store.DirTx) error {
		return tx.PutAssignment(&store.Assignment{ClientID: w.c1, UserID: w.w1.UserID, From: at(1, 0)})
	}); err != nil {
		t.Fatal(err)
	}
	req := func(client, order string, to *v1.Date) *v1.GetOrderReportRequest {
		return &v1.GetOrderReportRequest{ClientId: client, OrderId: order, From: vdate(2026, 3, 1), To: to}
	}
	mar31 := vdate(2026, 3, 31)
	ok := func(what string, err error) {
		if err != nil {
			t.Errorf("%s: %v, want the report", what, err)
		}
	}
	_, err := w.svc.GetOrderReport(w.ctx, w.supA1, req(w.c1, order, mar31))
	ok("supervisor", err)
	_, err = w.svc.GetOrderReport(w.ctx, w.adminA, req(w.c1, order, mar31))
	ok("admin", err)
	_, err = w.svc.GetOrderReport(w.ctx, w.w1, req(w.c1, order, mar31))
	ok("assigned worker", err)
	_, err = w.svc.GetOrderReport(w.ctx, w.w2, req(w.c1, order, mar31))
	wantKind(t, "unassigned worker", err, errkind.NotFound)
	_, err = w.svc.GetOrderReport(w.ctx, w.adminB, req(w.c1, order, mar31))
	wantKind(t, "another area's admin", err, errkind.NotFound)
	_, err = w.svc.GetOrderReport(w.ctx, w.supA1, req(w.c2, order, mar31))
	wantKind(t, "the order with another client", err, errkind.NotFound)
	_, err = w.svc.GetOrderReport(w.ctx, w.supA1, req(w.c1, order, vdate(2026, 2, 28)))
	wantKind(t, "to before from", err, errkind.Invalid)
}

// The report's TOP change is the shared rule's (package topchange) as of
// the period's last day: the newest start TOP by then and the newest
// later TOP after it; TOPs after the period, a new start among them, do
// not count.
func TestOrderReportTOPChange(t *testing.T) {
	w := newWorld(t)
	order := w.dev1.NewID()
	w.push(w.dev1, w.dev1.Record("court_order", order, w.c1, []sample.Field{
		{Name: "kind", Value: sample.Str("drr")}, {Name: "start_date", Value: sample.Date(2026, 1, 5)},
		{Name: "author", Value: sample.Str(w.dev1.UserID)},
	}), nil)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	w.top(w.dev1, w.c1, day(1, 2), "start", [4]int{1, 1, 1, 1}) // an earlier episode
	w.top(w.dev1, w.c1, day(2, 1), "start", [4]int{7, 7, 7, 7})
	w.top(w.dev1, w.c1, day(3, 15), "review", [4]int{0, 1, 0, 0})
	w.top(w.dev1, w.c1, day(4, 1), "review", [4]int{7, 7, 7, 7}) // after the period
	w.top(w.dev1, w.c1, day(4, 2), "start", [4]int{0, 0, 0, 0})  // after the period
	report := func(to *v1.Date) *v1.GetOrderReportResponse {
		resp, err := w.svc.GetOrderReport(w.ctx, w.supA1, &v1.GetOrderReportRequest{ClientId: w.c1, OrderId: order, From: vdate(2026, 3, 1), To: to})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	item := func(resp *v1.GetOrderReportResponse, name string) *v1.ReportTOPItem {
		for _, c := range resp.GetTopChange() {
			if c.GetItem() == name {
				return c
			}
		}
		t.Fatalf("no TOP item %s in %v", name, resp.GetTopChange())
		return nil
	}
	for _, tt := range []struct {
		name              string
		to, start, latest *v1.Date
		opiates           *v1.ReportTOPItem
		crackMovement     string
	}{
		{"review in the period", vdate(2026, 3, 31), vdate(2026, 2, 1), vdate(2026, 3, 15),
			&v1.ReportTOPItem{StartScore: 28, StartAnswered: true, LatestScore: 1, LatestAnswered: true, Movement: "improved"}, "unknown"},
		{"no review yet by the end", vdate(2026, 3, 14), vdate(2026, 2, 1), nil,
			&v1.ReportTOPItem{StartScore: 28, StartAnswered: true, Movement: "unknown"}, "unknown"},
	} {
		resp := report(tt.to)
		if !proto.Equal(resp.GetTopStart(), tt.start) || !proto.Equal(resp.GetTopLatest(), tt.latest) {
			t.Errorf("%s: TOPs %v and %v, want %v and %v", tt.name, resp.GetTopStart(), resp.GetTopLatest(), tt.start, tt.latest)
		}
		if len(resp.GetTopChange()) != len(schema.TOPItems) {
			t.Errorf("%s: %d items, want %d", tt.name, len(resp.GetTopChange()), len(schema.TOPItems))
		}
		got, want := item(resp, "opiates"), tt.opiates
		if got.GetStartScore() != want.StartScore || got.GetStartAnswered() != want.StartAnswered || got.GetLatestScore() != want.LatestScore ||
			got.GetLatestAnswered() != want.LatestAnswered || got.GetMovement() != want.Movement || got.GetSection() != "substance_use" {
			t.Errorf("%s: opiates = %v, want %v", tt.name, got, want)
		}
		if m := item(resp, "crack").GetMovement(); m != tt.crackMovement {
			t.Errorf("%s: crack (not answered) = %s, want %s", tt.name, m, tt.crackMovement)
		}
	}
}
