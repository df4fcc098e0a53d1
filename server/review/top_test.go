package review

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// topWorld is the review world on 16 March 2026 with TOPs:
//
//	c1 Alex Smith: in treatment since 1 November 2025, a start TOP that
//	   day and no review (due 1 February, overdue after the 15th).
//	c2 Jo Jones: in treatment since 10 March, no TOP yet (start due).
//	c6 Lee Brown: in treatment since 20 February, a review TOP on 1 March
//	   and no start TOP (out of order).
//	c3 Kelly Evans (team A2): as c1, from 1 October 2025.
//	c5 Wayne Taylor (closed): as c1; closed cases are not listed.
func topWorld(t *testing.T) *world {
	w := newWorld(t)
	started := func(d *sample.Device, c string, y, m, day int) {
		w.edit(d, "client", c, c, "treatment_started", sample.Date(y, m, day), nil)
	}
	started(w.dev1, w.c1, 2025, 11, 1)
	w.top(w.dev1, w.c1, time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), "start", [4]int{})
	started(w.dev1, w.c2, 2026, 3, 10)
	started(w.dev1, w.c6, 2026, 2, 20)
	w.top(w.dev1, w.c6, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "review", [4]int{})
	started(w.dev2, w.c3, 2025, 10, 1)
	w.top(w.dev2, w.c3, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), "start", [4]int{})
	started(w.dev2, w.c5, 2025, 10, 1)
	return w
}

func date(y, m, d int32) *v1.Date { return &v1.Date{Year: y, Month: m, Day: d} }

// The caseload shows each client's next TOP under the area's schedule on
// the service's day, as the tablet works it out.
func TestCaseloadNextTOP(t *testing.T) {
	w := topWorld(t)
	next := func(areaMonths, areaWindow int) map[string]*v1.NextTOP {
		t.Helper()
		if err := w.st.Directory(w.ctx, func(tx store.DirTx) error {
			a, err := tx.Area(w.areaA)
			if err != nil {
				return err
			}
			a.TOPIntervalMonths, a.TOPWindowDays = areaMonths, areaWindow
			return tx.PutArea(a)
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		wantSched := &v1.TOPSchedule{IntervalMonths: 3, WindowDays: 14}
		if areaMonths > 0 {
			wantSched = &v1.TOPSchedule{IntervalMonths: uint32(areaMonths), WindowDays: uint32(areaWindow), Own: true}
		}
		if !proto.Equal(resp.GetTopSchedule(), wantSched) {
			t.Errorf("the caseload's schedule %v, want %v", resp.GetTopSchedule(), wantSched)
		}
		out := map[string]*v1.NextTOP{}
		for _, c := range resp.GetClients() {
			out[c.GetClientId()] = c.GetNextTop()
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		months, window int
		want           map[string]*v1.NextTOP
	}{
		{"the default schedule", 0, 0, map[string]*v1.NextTOP{
			w.c1: {Stage: "review", WindowFrom: date(2026, 1, 18), Due: date(2026, 2, 1), WindowTo: date(2026, 2, 15), State: v1.TOPState_TOP_STATE_OVERDUE},
			w.c2: {Stage: "start", WindowFrom: date(2026, 3, 10), Due: date(2026, 3, 10), WindowTo: date(2026, 3, 24), State: v1.TOPState_TOP_STATE_DUE},
			w.c6: {Stage: "start", WindowFrom: date(2026, 2, 20), Due: date(2026, 2, 20), WindowTo: date(2026, 3, 6), State: v1.TOPState_TOP_STATE_OVERDUE},
		}},
		{"a five-month schedule, a week either side", 5, 7, map[string]*v1.NextTOP{
			w.c1: {Stage: "review", WindowFrom: date(2026, 3, 25), Due: date(2026, 4, 1), WindowTo: date(2026, 4, 8), State: v1.TOPState_TOP_STATE_NOT_YET},
			w.c2: {Stage: "start", WindowFrom: date(2026, 3, 10), Due: date(2026, 3, 10), WindowTo: date(2026, 3, 17), State: v1.TOPState_TOP_STATE_DUE},
			w.c6: {Stage: "start", WindowFrom: date(2026, 2, 20), Due: date(2026, 2, 20), WindowTo: date(2026, 2, 27), State: v1.TOPState_TOP_STATE_OVERDUE},
		}},
	} {
		got := next(tc.months, tc.window)
		for id, want := range tc.want {
			if !proto.Equal(got[id], want) {
				t.Errorf("%s: next TOP of %s = %v, want %v", tc.name, id, prototext.Format(got[id]), prototext.Format(want))
			}
		}
	}
}

// The data-quality list: the clients in reach in treatment past the
// interval with no review TOP, and those with stages out of order; not
// the others, not closed cases; workers may not see it; it is audited.
func TestListTOPIssues(t *testing.T) {
	w := topWorld(t)
	resp, err := w.svc.ListTOPIssues(w.ctx, w.supA1, &v1.ListTOPIssuesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sam := []*v1.Person{}
	want := &v1.ListTOPIssuesResponse{Checked: 3, TopSchedule: &v1.TOPSchedule{IntervalMonths: 3, WindowDays: 14}, Clients: []*v1.TOPIssueClient{
		{ClientId: w.c6, ClientName: "Lee Brown", TeamId: w.teamA1, TeamName: "North", Workers: sam, TreatmentStarted: date(2026, 2, 20),
			Issues: []*v1.TOPIssue{{Kind: v1.TOPIssueKind_TOP_ISSUE_KIND_REVIEW_BEFORE_START, Day: date(2026, 3, 1)}}},
		{ClientId: w.c1, ClientName: "Alex Smith", TeamId: w.teamA1, TeamName: "North", Workers: sam, TreatmentStarted: date(2025, 11, 1),
			Issues: []*v1.TOPIssue{{Kind: v1.TOPIssueKind_TOP_ISSUE_KIND_REVIEW_MISSING, Day: date(2026, 2, 1)}}},
	}}
	if !proto.Equal(resp, want) {
		t.Fatalf("the supervisor's TOP issues:\n got %s\nwant %s", prototext.Format(resp), prototext.Format(want))
	}
	var last *store.Audit
	_ = w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfUser(w.areaA, w.supA1.UserID, 0, 0)
		if len(as) > 0 {
			last = as[len(as)-1]
		}
		return err
	})
	if last == nil || last.Action != store.AuditViewContacts || !slices.Equal(slices.Sorted(slices.Values(last.ClientIDs)), slices.Sorted(slices.Values([]string{w.c1, w.c6}))) {
		t.Errorf("the view's audit entry %+v, want view_contacts naming the clients listed", last)
	}

	resp, err = w.svc.ListTOPIssues(w.ctx, w.adminA, &v1.ListTOPIssuesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range resp.GetClients() {
		ids = append(ids, c.GetClientId())
	}
	if want := []string{w.c6, w.c3, w.c1}; !slices.Equal(ids, want) || resp.GetChecked() != 5 { // Brown, Evans, Smith; Taylor is closed
		t.Errorf("the admin's list %v (checked %d), want %v of 5", ids, resp.GetChecked(), want)
	}
	if _, err := w.svc.ListTOPIssues(w.ctx, w.w1, &v1.ListTOPIssuesRequest{}); kind(err) != errkind.Forbidden {
		t.Errorf("a worker's list: %v, want Forbidden", err)
	}
	if _, err := w.svc.ListTOPIssues(w.ctx, w.supA1, &v1.ListTOPIssuesRequest{TeamId: w.teamA2}); kind(err) != errkind.NotFound {
		t.Errorf("another team's list: %v, want NotFound", err)
	}
}

// The wire's issue kinds are topschedule's, by number and name.
func TestTOPIssueKindsMatch(t *testing.T) {
	for _, k := range topschedule.Kinds() {
		if got, want := v1.TOPIssueKind(k).String(), "TOP_ISSUE_KIND_"+strings.ToUpper(k.String()); got != want {
			t.Errorf("kind %d is %s on the wire, want %s", k, got, want)
		}
	}
	if n := len(v1.TOPIssueKind_name); n != len(topschedule.Kinds())+1 {
		t.Errorf("the wire has %d kinds, topschedule %d", n-1, len(topschedule.Kinds()))
	}
}
