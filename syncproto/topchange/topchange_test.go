package topchange

import (
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func index(name string) int {
	for i, it := range schema.TOPItems {
		if it.Name == name {
			return i
		}
	}
	panic(name)
}

func top(id string, d time.Time, stage string) TOP { return TOP{ID: id, Day: d, Stage: stage} }

func TestMove(t *testing.T) {
	alcohol, work := schema.TOPItems[index("alcohol")], schema.TOPItems[index("paid_work")]
	a := func(v int) Score { return Score{Value: v, Answered: true} }
	for _, c := range []struct {
		name          string
		it            schema.TOPItem
		start, latest Score
		want          Movement
	}{
		{"less use", alcohol, a(20), a(2), Improved},
		{"more use", alcohol, a(0), a(7), Worsened},
		{"same", alcohol, a(4), a(4), Unchanged},
		{"more work", work, a(0), a(10), Improved},
		{"less work", work, a(10), a(3), Worsened},
		{"not answered at start", alcohol, Score{}, a(3), Unknown},
		{"not answered at review", work, a(3), Score{}, Unknown},
	} {
		if got := Move(c.it, c.start, c.latest); got != c.want {
			t.Errorf("%s: Move = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEpisode(t *testing.T) {
	for _, c := range []struct {
		name                  string
		tops                  []TOP
		wantStart, wantLatest int
	}{
		{"none", nil, -1, -1},
		{"a review but no start", []TOP{top("a", day(2026, 3, 1), "review")}, -1, -1},
		{"only a start", []TOP{top("a", day(2026, 3, 1), "start")}, 0, -1},
		{"start and reviews, any order", []TOP{top("c", day(2026, 9, 1), "review"), top("a", day(2026, 3, 1), "start"), top("b", day(2026, 6, 1), "review")}, 1, 0},
		{"a new episode", []TOP{top("a", day(2025, 3, 1), "start"), top("b", day(2025, 6, 1), "exit"), top("c", day(2026, 1, 5), "start")}, 2, -1},
		{"same day: the larger id is later", []TOP{top("b", day(2026, 3, 1), "review"), top("a", day(2026, 3, 1), "start")}, 1, 0},
		{"same day, review first", []TOP{top("a", day(2026, 3, 1), "review"), top("b", day(2026, 3, 1), "start")}, 1, -1},
	} {
		s, l := Episode(c.tops)
		if s != c.wantStart || l != c.wantLatest {
			t.Errorf("%s: Episode = %d, %d, want %d, %d", c.name, s, l, c.wantStart, c.wantLatest)
		}
	}
}

// The period's boundaries are the starts of days in the service's zone:
// From is in, To is out; TOPs after the period do not count.
func TestInPeriod(t *testing.T) {
	p := Period{From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour)} // midnight BST
	start := top("a", day(2026, 3, 1), "start")
	for _, c := range []struct {
		name                  string
		tops                  []TOP
		wantStart, wantLatest int
		wantOK                bool
	}{
		{"only a start", []TOP{start}, 0, -1, false},
		{"review on the first day", []TOP{start, top("b", day(2026, 6, 1), "review")}, 0, 1, true},
		{"review the day before", []TOP{start, top("b", day(2026, 5, 31), "review")}, 0, -1, false},
		{"review on the last day", []TOP{start, top("b", day(2026, 6, 30), "review")}, 0, 1, true},
		{"review on To's day", []TOP{start, top("b", day(2026, 7, 1), "review")}, 0, -1, false},
		{"the latest in the period, not after it", []TOP{start, top("b", day(2026, 6, 10), "review"), top("c", day(2026, 9, 1), "review")}, 0, 1, true},
		{"a new start after the period is ignored", []TOP{start, top("b", day(2026, 6, 10), "review"), top("c", day(2026, 8, 1), "start")}, 0, 1, true},
		{"a new start in the period without a review", []TOP{start, top("b", day(2026, 6, 10), "review"), top("c", day(2026, 6, 20), "start")}, 2, -1, false},
		{"start and review both in the period", []TOP{top("a", day(2026, 6, 2), "start"), top("b", day(2026, 6, 29), "exit")}, 0, 1, true},
	} {
		s, l, ok := InPeriod(c.tops, p)
		if s != c.wantStart || l != c.wantLatest || ok != c.wantOK {
			t.Errorf("%s: InPeriod = %d, %d, %v, want %d, %d, %v", c.name, s, l, ok, c.wantStart, c.wantLatest, c.wantOK)
		}
	}
}

func TestCompare(t *testing.T) {
	start := TOP{Scores: make([]Score, len(schema.TOPItems))}
	latest := TOP{Scores: make([]Score, len(schema.TOPItems))}
	start.Scores[index("crack")] = Score{Value: 12, Answered: true}
	latest.Scores[index("crack")] = Score{Value: 0, Answered: true}
	start.Scores[index("quality_of_life")] = Score{Value: 10, Answered: true}
	got := Compare(start, latest)
	if len(got) != len(schema.TOPItems) {
		t.Fatalf("Compare gave %d items, want %d", len(got), len(schema.TOPItems))
	}
	if c := got[index("crack")]; c.Movement != Improved || c.Item().Name != "crack" {
		t.Errorf("crack = %+v", c)
	}
	if c := got[index("quality_of_life")]; c.Movement != Unknown {
		t.Errorf("quality_of_life unanswered at review = %v", c.Movement)
	}
	if got := Compare(start, TOP{}); got[index("crack")].Movement != Unknown {
		t.Errorf("no later TOP: %v", got[index("crack")].Movement)
	}
}

func field(name string, v *v1.Value) *v1.FieldState { return &v1.FieldState{Field: name, Value: v} }

func TestFromState(t *testing.T) {
	integer := func(n int64) *v1.Value { return &v1.Value{Kind: &v1.Value_IntegerValue{IntegerValue: n}} }
	st := &v1.RecordState{RecordId: "r", RecordType: "outcome_review", Fields: []*v1.FieldState{
		field("interview_date", &v1.Value{Kind: &v1.Value_DateValue{DateValue: &v1.Date{Year: 2026, Month: 2, Day: 28}}}),
		field("stage", &v1.Value{Kind: &v1.Value_StringValue{StringValue: "review"}}),
		field("not_answered", &v1.Value{Kind: &v1.Value_SetState{SetState: &v1.SetState{Elements: []*v1.SetElement{
			{Element: "fraud", Adds: []*v1.Stamp{{Time: 1}}}, {Element: "assault", Adds: []*v1.Stamp{{Time: 1}}}}}}}),
		field("alcohol_week1", integer(3)), field("alcohol_week4", integer(2)),
		field("cannabis_amount", &v1.Value{Kind: &v1.Value_DecimalValue{DecimalValue: "1.5"}}),
		field("shoplifting_days", integer(9)),
		field("assault_days", integer(4)), // not answered wins
		field("quality_of_life", integer(15)),
		field("acute_housing_problem", &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: true}}),
		field("fraud", &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: true}}),
	}}
	got, live := FromState(st)
	if !live || got.ID != "r" || got.Stage != "review" || !got.Day.Equal(day(2026, 2, 28)) {
		t.Fatalf("header = %+v, live %v", got, live)
	}
	want := map[string]Score{
		"alcohol": {5, true}, "cannabis": {0, true}, "shoplifting": {9, true}, "assault": {}, "fraud": {},
		"quality_of_life": {15, true}, "acute_housing_problem": {1, true}, "crack": {}, "paid_work": {},
	}
	for name, w := range want {
		if g := got.Score(index(name)); g != w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	st.Fields = append(st.Fields, field(schema.DeletedField, &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: true}}))
	if _, live := FromState(st); live {
		t.Error("a deleted TOP reads as live")
	}
}
