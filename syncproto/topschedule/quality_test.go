package topschedule

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestIssues(t *testing.T) {
	start := d(2027, 11, 30)
	top := func(day time.Time, stage string) TOP { return TOP{day, stage} }
	for _, c := range []struct {
		name  string
		c     Client
		today time.Time
		want  []Issue
	}{
		{"not in treatment, no TOPs", Client{}, start, nil},
		{"a start, a review on time", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start"), top(d(2028, 2, 29), "review")}}, d(2028, 3, 20), nil},
		{"review still in its window", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start")}}, d(2028, 3, 14), nil},
		{"review missing the day after its window (leap February)", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start")}}, d(2028, 3, 15),
			[]Issue{{ReviewMissing, d(2028, 2, 29)}}},
		{"review missing counts from the last review", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start"), top(d(2028, 2, 29), "review")}}, d(2028, 6, 13),
			[]Issue{{ReviewMissing, d(2028, 5, 29)}}},
		{"review missing without a start TOP counts from treatment start", Client{TreatmentStart: d(2026, 10, 31)}, d(2027, 2, 15),
			[]Issue{{ReviewMissing, d(2027, 1, 31)}}},
		{"no start TOP, inside the interval", Client{TreatmentStart: d(2026, 10, 31)}, d(2027, 2, 14), nil},
		{"discharged: no review missing", Client{TreatmentStart: start, Discharged: d(2028, 1, 10), TOPs: []TOP{top(start, "start")}}, d(2028, 9, 1), nil},
		{"an exit TOP taken: no review missing", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start"), top(d(2028, 1, 10), "exit")}}, d(2028, 9, 1), nil},
		{"an earlier episode's review does not count", Client{TreatmentStart: start, TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 4, 5), "review"), top(d(2026, 6, 1), "exit"), top(start, "start")}}, d(2028, 4, 1),
			[]Issue{{ReviewMissing, d(2028, 2, 29)}}},
		{"a review before any start", Client{TreatmentStart: start, TOPs: []TOP{top(d(2027, 12, 1), "review"), top(d(2027, 12, 2), "start")}}, d(2027, 12, 3),
			[]Issue{{ReviewBeforeStart, d(2027, 12, 1)}}},
		{"an exit then a review without a new start", Client{TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 4, 5), "exit"), top(d(2026, 7, 5), "review")}}, d(2026, 8, 1),
			[]Issue{{ReviewAfterExit, d(2026, 7, 5)}}},
		{"an exit, a new start, a review", Client{TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 4, 5), "exit"), top(d(2026, 6, 5), "start"), top(d(2026, 7, 5), "review")}}, d(2026, 8, 1), nil},
		{"two starts in one episode", Client{TreatmentStart: start, TOPs: []TOP{top(start, "start"), top(d(2028, 1, 4), "start")}}, d(2028, 1, 5),
			[]Issue{{SecondStart, d(2028, 1, 4)}}},
		{"an exit before any start", Client{TOPs: []TOP{top(d(2026, 4, 5), "exit")}}, d(2026, 8, 1),
			[]Issue{{ExitBeforeStart, d(2026, 4, 5)}}},
		{"two exits", Client{TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 4, 5), "exit"), top(d(2026, 5, 5), "exit")}}, d(2026, 8, 1),
			[]Issue{{ExitAfterExit, d(2026, 5, 5)}}},
		{"a post-treatment exit after the exit", Client{TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 4, 5), "exit"), top(d(2026, 10, 5), "post_treatment_exit")}}, d(2026, 11, 1), nil},
		{"a post-treatment exit in treatment", Client{TOPs: []TOP{top(d(2026, 1, 5), "start"), top(d(2026, 3, 5), "post_treatment_exit")}}, d(2026, 4, 1),
			[]Issue{{PostExitInTreatment, d(2026, 3, 5)}}},
		{"same day: a start sorts before a review whatever the input order", Client{TOPs: []TOP{top(d(2026, 1, 5), "review"), top(d(2026, 1, 5), "start")}}, d(2026, 2, 1), nil},
		{"out of order and overdue at once, in day order", Client{TreatmentStart: d(2026, 1, 5), TOPs: []TOP{top(d(2026, 1, 20), "start"), top(d(2026, 1, 6), "review"), top(d(2026, 1, 21), "start")}}, d(2026, 6, 1),
			[]Issue{{ReviewBeforeStart, d(2026, 1, 6)}, {SecondStart, d(2026, 1, 21)}, {ReviewMissing, d(2026, 4, 21)}}},
	} {
		got := Schedule{}.Issues(c.c, c.today.Add(15*time.Hour))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Issues = %v, want %v", c.name, show(got), show(c.want))
		}
	}
}

// The area's interval and window decide when a review is missing.
func TestIssuesFollowTheSchedule(t *testing.T) {
	c := Client{TreatmentStart: d(2026, 1, 31), TOPs: []TOP{{d(2026, 1, 31), "start"}}}
	s := Schedule{IntervalMonths: 1, WindowDays: 7}
	for _, tc := range []struct {
		today time.Time
		want  []Issue
	}{
		{d(2026, 3, 7), nil},
		{d(2026, 3, 8), []Issue{{ReviewMissing, d(2026, 2, 28)}}},
	} {
		if got := s.Issues(c, tc.today); !slices.Equal(got, tc.want) {
			t.Errorf("on %s: Issues = %v, want %v", f(tc.today), show(got), show(tc.want))
		}
	}
}

// "Today" is the service's day: 23:30 UTC on 14 July 2028 is already the
// 15th in London (summer time).
func TestIssuesOnTheServiceDay(t *testing.T) {
	c := Client{TreatmentStart: d(2028, 3, 31), TOPs: []TOP{{d(2028, 3, 31), "start"}}}
	if got := (Schedule{}).Issues(c, time.Date(2028, 7, 14, 23, 30, 0, 0, time.UTC)); len(got) != 1 || got[0].Kind != ReviewMissing {
		t.Errorf("at 23:30 UTC on 14 July (the 15th in London) Issues = %v, want a missing review", show(got))
	}
	if got := (Schedule{}).Issues(c, time.Date(2028, 7, 14, 22, 30, 0, 0, time.UTC)); got != nil {
		t.Errorf("at 22:30 UTC on 14 July (still the 14th in London) Issues = %v, want none", show(got))
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		if n := k.String(); n == "unknown" || seen[n] {
			t.Errorf("kind %d is named %q", k, n)
		}
		seen[k.String()] = true
	}
	if len(seen) != 7 || Kind(0).String() != "unknown" || kindEnd.String() != "unknown" {
		t.Errorf("kinds %v", seen)
	}
}

func show(is []Issue) []string {
	var out []string
	for _, i := range is {
		out = append(out, fmt.Sprintf("%s@%s", i.Kind, f(i.Day)))
	}
	return out
}
