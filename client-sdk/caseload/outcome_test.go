package caseload

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/syncproto/topschedule"
)

func mustTOP(t testing.TB, d *Device, clientID string, r OutcomeReview) string {
	t.Helper()
	id, err := d.RecordOutcomeReview(context.Background(), clientID, r)
	if err != nil {
		t.Fatalf("RecordOutcomeReview: %v", err)
	}
	return id
}

// A TOP reads back with its answers, its items not answered, and nothing
// for the items not filled in.
func TestRecordOutcomeReview(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	in := OutcomeReview{
		InterviewDate: Date{2026, time.December, 7}, Stage: "start", OtherSubstance: "pregabalin",
		Answers: map[string]TOPAnswer{
			"alcohol":               {Weeks: [4]int{7, 6, 5, 4}, Amount: "12.5", Unit: "alcohol_units"},
			"other_substance":       {Weeks: [4]int{1, 0, 0, 2}},
			"shoplifting":           {Days: 28},
			"psychological_health":  {Rating: 0},
			"acute_housing_problem": {Yes: true},
			"shared_needles":        {Yes: false},
		},
		NotAnswered: []string{"crack", "fraud"},
	}
	id := mustTOP(t, d, c, in)
	got, err := d.OutcomeReviews(ctx, c)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("OutcomeReviews = %d, want 1", len(got))
	}
	r := got[0]
	if r.ID != id || r.Stage != "start" || r.InterviewDate != in.InterviewDate || r.Author != d.UserID() || !r.Pending || r.OtherSubstance != "pregabalin" {
		t.Errorf("header = %+v", r)
	}
	if len(r.Answers) != len(in.Answers) {
		t.Errorf("answers = %+v, want %+v", r.Answers, in.Answers)
	}
	for name, want := range in.Answers {
		if r.Answers[name] != want {
			t.Errorf("%s = %+v, want %+v", name, r.Answers[name], want)
		}
	}
	if strings.Join(r.NotAnswered, ",") != "crack,fraud" {
		t.Errorf("NotAnswered = %v", r.NotAnswered)
	}
}

// Out-of-range answers and contradictions are refused before anything is
// queued, naming the field and never the value.
func TestOutcomeReviewValidation(t *testing.T) {
	d, c := enrolledDevice(t)
	day := Date{2026, time.December, 7}
	queued := len(outbox(t, d))
	for _, tc := range []struct {
		name, field string
		r           OutcomeReview
	}{
		{"week over 7", "cannabis_week3", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"cannabis": {Weeks: [4]int{0, 0, 8, 0}}}}},
		{"days over 28", "assault_days", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"assault": {Days: 29}}}},
		{"negative days", "paid_work_days", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"paid_work": {Days: -1}}}},
		{"rating over 20", "quality_of_life", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"quality_of_life": {Rating: 21}}}},
		{"negative amount", "opiates_amount", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"opiates": {Amount: "-0.25", Unit: "grams"}}}},
		{"unit of another item", "alcohol_unit", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"alcohol": {Unit: "spliffs"}}}},
		{"stage", "stage", OutcomeReview{Stage: "halfway"}},
		{"unknown item", "glue", OutcomeReview{Stage: "start", NotAnswered: []string{"glue"}}},
		{"answered and not", "cocaine", OutcomeReview{Stage: "start", Answers: map[string]TOPAnswer{"cocaine": {}}, NotAnswered: []string{"cocaine"}}},
	} {
		tc.r.InterviewDate = day
		_, err := d.RecordOutcomeReview(context.Background(), c, tc.r)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want ErrInvalid naming %s", tc.name, err, tc.field)
		}
		if err != nil && (strings.Contains(err.Error(), "-0.25") || strings.Contains(err.Error(), "spliffs")) {
			t.Errorf("%s: the error echoes the value: %v", tc.name, err)
		}
	}
	if _, err := d.RecordOutcomeReview(context.Background(), c, OutcomeReview{Stage: "start"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no interview date: %v", err)
	}
	if n := len(outbox(t, d)); n != queued {
		t.Errorf("refused TOPs queued %d changes", n-queued)
	}
}

// Change from start compares the episode's start TOP with the latest one
// since, item by item, in each item's own direction.
func TestChangeFromStart(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	if _, err := d.ChangeFromStart(ctx, c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no TOP: %v, want ErrNotFound", err)
	}
	// An earlier episode, which the new start replaces.
	mustTOP(t, d, c, OutcomeReview{InterviewDate: Date{2025, time.March, 1}, Stage: "start", Answers: map[string]TOPAnswer{"alcohol": {Weeks: [4]int{1, 1, 1, 1}}}})
	mustTOP(t, d, c, OutcomeReview{InterviewDate: Date{2025, time.June, 1}, Stage: "exit", Answers: map[string]TOPAnswer{"alcohol": {Weeks: [4]int{0, 0, 0, 0}}}})
	mustTOP(t, d, c, OutcomeReview{InterviewDate: Date{2026, time.February, 28}, Stage: "start", Answers: map[string]TOPAnswer{
		"alcohol": {Weeks: [4]int{5, 5, 5, 5}}, "cannabis": {}, "psychological_health": {Rating: 8},
		"acute_housing_problem": {Yes: true}, "paid_work": {Days: 0}, "shoplifting": {Days: 4}, "education": {Days: 10},
	}})
	ch, err := d.ChangeFromStart(ctx, c)
	must(t, err)
	if ch.Latest.ID != "" || ch.Items[0].Movement != MovementUnknown {
		t.Fatalf("before any review: latest %q, alcohol %v", ch.Latest.ID, ch.Items[0].Movement)
	}
	mustTOP(t, d, c, OutcomeReview{InterviewDate: Date{2026, time.May, 29}, Stage: "review", Answers: map[string]TOPAnswer{
		"alcohol": {Weeks: [4]int{1, 0, 0, 1}}, "cannabis": {Weeks: [4]int{7, 0, 0, 0}}, "psychological_health": {Rating: 14},
		"acute_housing_problem": {Yes: false}, "paid_work": {Days: 0}, "education": {Days: 3},
	}, NotAnswered: []string{"shoplifting"}})
	ch, err = d.ChangeFromStart(ctx, c)
	must(t, err)
	if ch.Start.InterviewDate != (Date{2026, time.February, 28}) || ch.Latest.Stage != "review" {
		t.Fatalf("compared %v with %v", ch.Start.InterviewDate, ch.Latest.InterviewDate)
	}
	want := map[string]struct {
		start, latest int
		m             Movement
	}{
		"alcohol":               {20, 2, Improved},
		"cannabis":              {0, 7, Worsened},
		"psychological_health":  {8, 14, Improved},
		"acute_housing_problem": {1, 0, Improved},
		"paid_work":             {0, 0, Unchanged},
		"education":             {10, 3, Worsened},
		"shoplifting":           {4, 0, MovementUnknown},
		"crack":                 {0, 0, MovementUnknown},
	}
	seen := 0
	for _, it := range ch.Items {
		w, ok := want[it.Item]
		if !ok {
			continue
		}
		seen++
		if it.StartScore != w.start || it.LatestScore != w.latest || it.Movement != w.m {
			t.Errorf("%s: %d → %d %v, want %d → %d %v", it.Item, it.StartScore, it.LatestScore, it.Movement, w.start, w.latest, w.m)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d of the %d items", seen, len(want))
	}
}

// The tablet asks the one schedule when the client's next TOP is due, from
// the treatment dates on the client and the TOPs it holds.
func TestNextTOP(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	today := time.Date(2027, time.December, 3, 10, 0, 0, 0, time.UTC)
	next, err := d.NextTOP(ctx, c, topschedule.Schedule{}, today)
	must(t, err)
	if next.State != topschedule.NotNeeded {
		t.Errorf("no treatment recorded: %+v", next)
	}
	must(t, d.UpdateClient(ctx, c, Edit{"treatment_started", DateValue(Date{2027, time.November, 30})}))
	if next, _ = d.NextTOP(ctx, c, topschedule.Schedule{}, today); next.Stage != "start" || next.State != topschedule.Due {
		t.Errorf("treatment begun, no TOP: %+v", next)
	}
	mustTOP(t, d, c, OutcomeReview{InterviewDate: Date{2027, time.December, 1}, Stage: "start"})
	next, err = d.NextTOP(ctx, c, topschedule.Schedule{}, today)
	must(t, err)
	if want := time.Date(2028, time.March, 1, 0, 0, 0, 0, time.UTC); next.Stage != "review" || !next.On.Equal(want) || next.State != topschedule.NotYet {
		t.Errorf("after the start TOP: %+v, want a review on %s, not yet due", next, want.Format(time.DateOnly))
	}
	must(t, d.UpdateClient(ctx, c, Edit{"treatment_ended", DateValue(Date{2027, time.December, 2})}))
	if next, _ = d.NextTOP(ctx, c, topschedule.Schedule{}, today); next.Stage != "exit" || next.State != topschedule.Due {
		t.Errorf("discharged: %+v, want the exit TOP due", next)
	}
}

// TOPsDue lists the clients whose next TOP's window has opened, from the
// index, as the device's clock moves and as TOPs are recorded.
func TestTOPsDue(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, time.November, 30, 9, 0, 0, 0, time.UTC)
	d, a := enrolledDevice(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.TOPSchedule = topschedule.Schedule{IntervalMonths: 3, WindowDays: 14}
	})
	b := holdClient(t, d)
	holdClient(t, d) // not in treatment: never due
	dueIDs := func() []string {
		t.Helper()
		due, err := d.TOPsDue(ctx)
		must(t, err)
		var ids []string
		for _, x := range due {
			ids = append(ids, x.ClientID+":"+x.Stage+":"+x.State.String())
		}
		return ids
	}
	if got := dueIDs(); len(got) != 0 {
		t.Fatalf("nobody in treatment: %v", got)
	}
	must(t, d.UpdateClient(ctx, a, Edit{"treatment_started", DateValue(Date{2027, time.November, 1})}))
	must(t, d.UpdateClient(ctx, b, Edit{"treatment_started", DateValue(Date{2027, time.November, 30})}))
	if got, want := dueIDs(), []string{a + ":start:overdue", b + ":start:due"}; !slices.Equal(got, want) {
		t.Fatalf("starts = %v, want %v", got, want)
	}
	mustTOP(t, d, a, OutcomeReview{InterviewDate: Date{2027, time.November, 30}, Stage: "start"})
	mustTOP(t, d, b, OutcomeReview{InterviewDate: Date{2027, time.November, 30}, Stage: "start"})
	if got := dueIDs(); len(got) != 0 {
		t.Fatalf("both started: %v", got)
	}
	now = time.Date(2028, time.February, 15, 9, 0, 0, 0, time.UTC) // 29 Feb less a fortnight
	if got, want := dueIDs(), []string{a + ":review:due", b + ":review:due"}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("reviews = %v, want %v", got, want)
	}
	now = time.Date(2028, time.March, 15, 9, 0, 0, 0, time.UTC)
	mustTOP(t, d, b, OutcomeReview{InterviewDate: Date{2028, time.March, 14}, Stage: "review"})
	if got, want := dueIDs(), []string{a + ":review:overdue"}; !slices.Equal(got, want) {
		t.Fatalf("after b's review = %v, want %v", got, want)
	}
}
