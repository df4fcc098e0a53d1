package topschedule

import (
	"testing"
	"testing/quick"
	"time"
)

func d(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from   time.Time
		months int
		want   time.Time
	}{
		{d(2026, 1, 31), 1, d(2026, 2, 28)},
		{d(2028, 1, 31), 1, d(2028, 2, 29)},  // leap year
		{d(2027, 11, 30), 3, d(2028, 2, 29)}, // into a leap February
		{d(2026, 11, 30), 3, d(2027, 2, 28)},
		{d(2028, 2, 29), 3, d(2028, 5, 29)},
		{d(2028, 2, 29), 12, d(2029, 2, 28)},
		{d(2026, 10, 31), 3, d(2027, 1, 31)}, // across a year end
		{d(2026, 12, 15), 3, d(2027, 3, 15)},
		{d(2026, 5, 31), 3, d(2026, 8, 31)},
		{d(2026, 3, 31), 3, d(2026, 6, 30)},
	} {
		if got := AddMonths(c.from, c.months); !got.Equal(c.want) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", c.from.Format(time.DateOnly), c.months, got.Format(time.DateOnly), c.want.Format(time.DateOnly))
		}
	}
}

// AddMonths always lands in the month it should, on the same day or the
// last day of a shorter month.
func TestAddMonthsProperty(t *testing.T) {
	f := func(days uint16, months uint8) bool {
		from := d(2024, 1, 1).AddDate(0, 0, int(days%3000))
		m := int(months%24) + 1
		got := AddMonths(from, m)
		wantMonth := (int(from.Month())-1+m)%12 + 1
		wantYear := from.Year() + (int(from.Month())-1+m)/12
		if got.Year() != wantYear || int(got.Month()) != wantMonth {
			return false
		}
		endOfMonth := got.AddDate(0, 0, 1).Day() == 1
		return got.Day() == from.Day() || got.Day() < from.Day() && endOfMonth
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
}

func TestNextTOP(t *testing.T) {
	start := d(2027, 11, 30)
	s := Schedule{}
	for _, c := range []struct {
		name  string
		c     Client
		today time.Time
		want  Next
	}{
		{"not in treatment", Client{}, start, Next{}},
		{"start due on the day", Client{TreatmentStart: start}, start,
			Next{"start", start, start, d(2027, 12, 14), Due}},
		{"start still due on the window's last day", Client{TreatmentStart: start}, d(2027, 12, 14),
			Next{"start", start, start, d(2027, 12, 14), Due}},
		{"start overdue the day after", Client{TreatmentStart: start}, d(2027, 12, 15),
			Next{"start", start, start, d(2027, 12, 14), Overdue}},
		{"review not yet", Client{TreatmentStart: start, TOPs: []TOP{{start, "start"}}}, d(2028, 2, 14),
			Next{"review", d(2028, 2, 15), d(2028, 2, 29), d(2028, 3, 14), NotYet}},
		{"review window opens a fortnight before (leap February)", Client{TreatmentStart: start, TOPs: []TOP{{start, "start"}}}, d(2028, 2, 15),
			Next{"review", d(2028, 2, 15), d(2028, 2, 29), d(2028, 3, 14), Due}},
		{"review overdue after the fortnight", Client{TreatmentStart: start, TOPs: []TOP{{start, "start"}}}, d(2028, 3, 15),
			Next{"review", d(2028, 2, 15), d(2028, 2, 29), d(2028, 3, 14), Overdue}},
		{"the next review counts from the last", Client{TreatmentStart: start, TOPs: []TOP{{d(2028, 3, 1), "review"}, {start, "start"}}}, d(2028, 3, 2),
			Next{"review", d(2028, 5, 18), d(2028, 6, 1), d(2028, 6, 15), NotYet}},
		{"a start taken a few days early counts", Client{TreatmentStart: start, TOPs: []TOP{{d(2027, 11, 25), "start"}}}, d(2027, 12, 20),
			Next{"review", d(2028, 2, 11), d(2028, 2, 25), d(2028, 3, 10), NotYet}},
		{"an earlier episode's TOPs do not", Client{TreatmentStart: start, TOPs: []TOP{{d(2026, 1, 5), "start"}, {d(2026, 4, 5), "review"}}}, start,
			Next{"start", start, start, d(2027, 12, 14), Due}},
		{"exit due at discharge", Client{TreatmentStart: start, Discharged: d(2028, 4, 30), TOPs: []TOP{{start, "start"}}}, d(2028, 5, 15),
			Next{"exit", d(2028, 4, 30), d(2028, 4, 30), d(2028, 5, 14), Overdue}},
		{"nothing after the exit TOP", Client{TreatmentStart: start, Discharged: d(2028, 4, 30), TOPs: []TOP{{start, "start"}, {d(2028, 4, 30), "exit"}}}, d(2028, 9, 1),
			Next{}},
		{"a monthly schedule", Client{TreatmentStart: d(2026, 1, 31), TOPs: []TOP{{d(2026, 1, 31), "start"}}}, d(2026, 2, 20),
			Next{"review", d(2026, 2, 21), d(2026, 2, 28), d(2026, 3, 7), NotYet}},
	} {
		sched := s
		if c.name == "a monthly schedule" {
			sched = Schedule{IntervalMonths: 1, WindowDays: 7}
		}
		got := sched.NextTOP(c.c, c.today.Add(15*time.Hour))
		if got != c.want {
			t.Errorf("%s: NextTOP = %s %s..%s..%s %v, want %s %s..%s..%s %v", c.name,
				got.Stage, f(got.From), f(got.On), f(got.To), got.State, c.want.Stage, f(c.want.From), f(c.want.On), f(c.want.To), c.want.State)
		}
	}
}

func f(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateOnly)
}
