package topchange

import (
	"slices"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// FromState reads a TOP from an outcome_review record's state, and
// whether the record is live (not deleted, with an interview day). An
// item in not_answered is not answered whatever its fields hold; an item
// is answered if any of its fields is set (a missing count is 0), as the
// tablet reads it.
func FromState(st *v1.RecordState) (TOP, bool) {
	t := TOP{ID: st.GetRecordId(), Scores: make([]Score, len(schema.TOPItems))}
	byName := make(map[string]*v1.Value, len(st.GetFields()))
	for _, f := range st.GetFields() {
		byName[f.GetField()] = f.GetValue()
	}
	if _, deleted := byName[merge.DeletedField]; deleted {
		return t, false
	}
	d := byName["interview_date"].GetDateValue()
	if d == nil {
		return t, false
	}
	t.Day = time.Date(int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay()), 0, 0, 0, 0, time.UTC)
	t.Stage = byName["stage"].GetStringValue()
	notAnswered := merge.SetMembers(byName["not_answered"].GetSetState())
	for i, it := range schema.TOPItems {
		if slices.Contains(notAnswered, it.Name) {
			continue
		}
		t.Scores[i] = scoreOf(it, byName)
	}
	return t, true
}

func scoreOf(it schema.TOPItem, byName map[string]*v1.Value) Score {
	var weeks [4]int
	var days, rating int
	var yes bool
	set := false
	for _, f := range it.Fields() {
		if byName[f.Name] != nil {
			set = true
		}
	}
	if !set {
		return Score{}
	}
	get := func(name string) *v1.Value { return byName[name] }
	switch it.Kind {
	case schema.TOPWeeklyDays:
		for w := range weeks {
			weeks[w] = int(get(it.WeekField(w + 1)).GetIntegerValue())
		}
	case schema.TOPDays:
		days = int(get(it.Name + "_days").GetIntegerValue())
	case schema.TOPRating:
		rating = int(get(it.Name).GetIntegerValue())
	case schema.TOPYesNo:
		yes = get(it.Name).GetBoolValue()
	}
	return Score{Value: it.Score(weeks, days, rating, yes), Answered: true}
}
