package review

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topchange"
)

// change builds one client's change from start: item → {start, review}
// scores; an item absent is not answered at both, -1 not answered there.
func change(items map[string][2]int) []topchange.ItemChange {
	var start, latest topchange.TOP
	start.Scores = make([]topchange.Score, len(schema.TOPItems))
	latest.Scores = make([]topchange.Score, len(schema.TOPItems))
	for name, v := range items {
		i := topIndex(name)
		if v[0] >= 0 {
			start.Scores[i] = topchange.Score{Value: v[0], Answered: true}
		}
		if v[1] >= 0 {
			latest.Scores[i] = topchange.Score{Value: v[1], Answered: true}
		}
	}
	return topchange.Compare(start, latest)
}

func figure(figs []*v1.OutcomeFigure, measure, item string) *v1.OutcomeFigure {
	for _, f := range figs {
		if f.GetMeasure() == measure && f.GetItem() == item {
			return f
		}
	}
	return nil
}

// The movement rules: each figure's base is the clients it is about who
// answered the item at start and at review; the others are not_answered.
func TestTallyMovement(t *testing.T) {
	cohort := [][]topchange.ItemChange{
		change(map[string][2]int{"opiates": {20, 0}, "crack": {8, 2}, "injecting": {12, 0}, "shoplifting": {10, 4}, "acute_housing_problem": {1, 0}, "paid_work": {0, 8}}),
		change(map[string][2]int{"opiates": {28, 14}, "crack": {0, 0}, "injecting": {0, 0}, "shoplifting": {3, 3}, "acute_housing_problem": {1, 1}, "paid_work": {5, 5}}),
		change(map[string][2]int{"opiates": {10, -1}, "crack": {-1, 4}, "injecting": {4, 4}, "acute_housing_problem": {0, 1}, "paid_work": {10, 2}}),
		change(map[string][2]int{"opiates": {0, 3}}),
	}
	figs := tallyMovement(cohort)
	if len(figs) != len(measures) {
		t.Fatalf("%d figures, want %d", len(figs), len(measures))
	}
	for _, c := range []struct {
		measure, item                                    string
		clients, base, notAnswered, startTotal, revTotal uint32
	}{
		{"abstinent", "opiates", 1, 2, 1, 48, 14},  // the third did not answer at review; the fourth was not using
		{"abstinent", "crack", 0, 1, 2, 8, 2},      // the third not answered at start, the fourth at neither
		{"reduced", "opiates", 2, 2, 1, 48, 14},    //
		{"reduced", "crack", 1, 1, 2, 8, 2},        //
		{"reduced", "alcohol", 0, 0, 4, 0, 0},      // nobody answered
		{"stopped", "injecting", 1, 2, 1, 16, 4},   //
		{"reduced", "shoplifting", 1, 2, 2, 13, 7}, //
		{"resolved", "acute_housing_problem", 1, 2, 1, 2, 1},
		{"increased", "paid_work", 1, 3, 1, 15, 15}, // everyone answering is in the base
	} {
		f := figure(figs, c.measure, c.item)
		if f == nil {
			t.Errorf("no figure %s %s", c.measure, c.item)
			continue
		}
		if f.Clients != c.clients || f.Base != c.base || f.NotAnswered != c.notAnswered || f.StartTotal != c.startTotal || f.ReviewTotal != c.revTotal {
			t.Errorf("%s %s = %d/%d (not answered %d, totals %d→%d), want %d/%d (%d, %d→%d)", c.measure, c.item,
				f.Clients, f.Base, f.NotAnswered, f.StartTotal, f.ReviewTotal, c.clients, c.base, c.notAnswered, c.startTotal, c.revTotal)
		}
	}
}

// top records a TOP on a worker's tablet: the stage, the interview day and
// opiate days (weekly, as the tablet writes them).
func (w *world) top(d *sample.Device, client string, day time.Time, stage string, opiateWeeks [4]int) {
	w.t.Helper()
	fields := []sample.Field{
		{Name: "interview_date", Value: sample.Date(day.Year(), int(day.Month()), day.Day())},
		{Name: "stage", Value: sample.Str(stage)}, {Name: "author", Value: sample.Str(d.UserID)},
	}
	for i, n := range opiateWeeks {
		fields = append(fields, sample.Field{Name: schema.TOPItems[topIndex("opiates")].WeekField(i + 1), Value: sample.Int(int64(n))})
	}
	w.push(d, d.Record("outcome_review", d.NewID(), client, fields), nil)
}

// GetOutcomeMovement compares the clients in reach whose review fell in
// the period; clients with only a start TOP, or a review outside the
// period, are not in it. A supervisor sees their team only; a worker may
// not ask; the view is audited.
func TestGetOutcomeMovement(t *testing.T) {
	w := newWorld(t)
	feb := func(d int) time.Time { return time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC) }
	w.top(w.dev1, w.c1, feb(1), "start", [4]int{7, 7, 7, 7})
	w.top(w.dev1, w.c1, at(1, 0), "review", [4]int{0, 0, 0, 0}) // 1 March: the period's first day
	w.top(w.dev1, w.c2, feb(2), "start", [4]int{3, 3, 0, 0})
	w.top(w.dev1, w.c2, at(15, 0), "review", [4]int{1, 0, 0, 0})
	w.top(w.dev1, w.c6, feb(3), "start", [4]int{1, 1, 1, 1}) // only a start TOP
	w.top(w.dev2, w.c3, feb(4), "start", [4]int{2, 2, 2, 2})
	w.top(w.dev2, w.c3, feb(28), "review", [4]int{0, 0, 0, 0}) // before the period
	w.top(w.dev2, w.c4, feb(5), "start", [4]int{2, 2, 2, 2})
	w.top(w.dev2, w.c4, at(16, 0), "exit", [4]int{0, 0, 0, 0}) // 16 March: To's day, outside
	// The period is March 2026 up to the 16th, midnight in London (GMT).
	req := &v1.GetOutcomeMovementRequest{From: timestamppb.New(at(1, 0)), To: timestamppb.New(at(16, 0))}

	got, err := w.svc.GetOutcomeMovement(w.ctx, w.adminA, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clients != 6 || got.Compared != 2 {
		t.Errorf("admin: clients %d compared %d, want 6 and 2", got.Clients, got.Compared)
	}
	if f := figure(got.Figures, "abstinent", "opiates"); f.Clients != 1 || f.Base != 2 || f.NotAnswered != 0 {
		t.Errorf("abstinent from opiates = %+v, want 1 of 2", f)
	}
	if !strings.Contains(got.Definition, "not_answered") {
		t.Errorf("the definition does not say how not answered items count: %q", got.Definition)
	}
	req.To = timestamppb.New(at(17, 0))
	if got, _ = w.svc.GetOutcomeMovement(w.ctx, w.adminA, req); got.Compared != 3 {
		t.Errorf("to the 17th: compared %d, want 3 (the exit TOP on the 16th)", got.Compared)
	}
	sup, err := w.svc.GetOutcomeMovement(w.ctx, w.supA1, req)
	if err != nil {
		t.Fatal(err)
	}
	if sup.Clients != 3 || sup.Compared != 2 {
		t.Errorf("supervisor of A1: clients %d compared %d, want 3 and 2", sup.Clients, sup.Compared)
	}
	req.TeamId = w.teamA2
	if _, err := w.svc.GetOutcomeMovement(w.ctx, w.supA1, req); kind(err) != errkind.NotFound {
		t.Errorf("supervisor asking for another team: %v, want NotFound", err)
	}
	if _, err := w.svc.GetOutcomeMovement(w.ctx, w.w1, &v1.GetOutcomeMovementRequest{}); kind(err) != errkind.Forbidden {
		t.Errorf("worker: %v, want Forbidden", err)
	}
	views := 0
	for _, a := range fixture.AreaAudit(t, w.st, w.areaA) {
		if a.Action == store.AuditViewOutcomeMovement {
			views++
		}
	}
	if views != 3 {
		t.Errorf("%d views audited, want 3", views)
	}
}

// The CSV export has the figures with their numerators and denominators,
// and is audited as an export.
func TestExportOutcomeMovement(t *testing.T) {
	w := newWorld(t)
	w.top(w.dev1, w.c1, at(1, 0), "start", [4]int{7, 7, 7, 7})
	w.top(w.dev1, w.c1, at(9, 0), "review", [4]int{0, 0, 0, 0})
	var rows [][]string
	n, err := w.svc.ExportOutcomeMovement(w.ctx, w.supA1, ExportQuery{}, RowFunc(func(r []string) error {
		rows = append(rows, append([]string(nil), r...))
		return nil
	}))
	if err != nil || n != len(measures)+1 {
		t.Fatalf("export = %d rows, %v; want %d", n, err, len(measures)+1)
	}
	col := func(name string) int {
		for i, c := range OutcomeMovementColumns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	if r := rows[0]; r[0] != "totals" || r[col("clients")] != "3" || r[col("compared")] != "1" {
		t.Errorf("totals row = %v", r)
	}
	if r := rows[1]; r[col("measure")] != "abstinent" || r[col("item")] != "opiates" || r[col("clients")] != "1" || r[col("base")] != "1" {
		t.Errorf("first figure = %v", r)
	}
	for _, r := range rows {
		if len(r) != len(OutcomeMovementColumns) {
			t.Fatalf("row of %d cells, want %d: %v", len(r), len(OutcomeMovementColumns), r)
		}
	}
	var actions []store.AuditAction
	for _, a := range fixture.AreaAudit(t, w.st, w.areaA) {
		actions = append(actions, a.Action)
	}
	if len(actions) < 2 || actions[len(actions)-2] != store.AuditExportOutcomeMovement || actions[len(actions)-1] != store.AuditExportComplete {
		t.Errorf("audit = %v, want the export and its completion", actions)
	}
}
