package review

import (
	"cmp"
	"slices"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// topChange fills a report's TOP change from start as of the period's last
// day: the newest start TOP interviewed by then, and the newest later-stage
// TOP after it, item by item, with the direction of change (the rule of
// the SDK's ChangeFromStart, kept here in this one function until it is
// shared from syncproto). It returns how many TOPs it compared.
func topChange(resp *v1.GetOrderReportResponse, tops []*v1.RecordState, lastDay int64) int {
	type top struct {
		st  *v1.RecordState
		day int64
	}
	var dated []top
	for _, st := range tops {
		d := merge.Field(st, "interview_date").GetValue().GetDateValue()
		if schema.ValidDate(d) && dayNumber(d) <= lastDay {
			dated = append(dated, top{st, dayNumber(d)})
		}
	}
	slices.SortFunc(dated, func(a, b top) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.st.GetRecordId(), b.st.GetRecordId()))
	})
	start, latest := -1, -1
	for i, t := range dated {
		switch {
		case strField(t.st, "stage") == "start":
			start, latest = i, -1
		case start >= 0:
			latest = i
		}
	}
	if start < 0 {
		return 0
	}
	var last *v1.RecordState
	resp.TopStart = merge.Field(dated[start].st, "interview_date").GetValue().GetDateValue()
	if latest >= 0 {
		last = dated[latest].st
		resp.TopLatest = merge.Field(last, "interview_date").GetValue().GetDateValue()
	}
	for _, it := range schema.TOPItems {
		c := &v1.ReportTOPItem{Item: it.Name, Section: it.Section}
		c.StartScore, c.StartAnswered = topScore(dated[start].st, it)
		c.LatestScore, c.LatestAnswered = topScore(last, it)
		c.Movement = topMovement(it, c)
		resp.TopChange = append(resp.TopChange, c)
	}
	if last != nil {
		return 2
	}
	return 1
}

// topScore is an item's schema.TOPItem.Score in a TOP, and whether it was
// answered (not in not_answered, and a field of it set).
func topScore(st *v1.RecordState, it schema.TOPItem) (int32, bool) {
	if st == nil || slices.Contains(merge.SetMembers(merge.Field(st, "not_answered").GetValue().GetSetState()), it.Name) {
		return 0, false
	}
	var weeks [4]int
	var n int
	var yes, set bool
	for _, f := range it.Fields() {
		v := merge.Field(st, f.Name).GetValue()
		if v == nil || strings.HasSuffix(f.Name, "_amount") || strings.HasSuffix(f.Name, "_unit") {
			continue
		}
		set = true
		if it.Kind == schema.TOPWeeklyDays {
			weeks[f.Name[len(f.Name)-1]-'1'] = int(v.GetIntegerValue())
		}
		n, yes = int(v.GetIntegerValue()), v.GetBoolValue()
	}
	if !set {
		return 0, false
	}
	return int32(it.Score(weeks, n, n, yes)), true
}

func topMovement(it schema.TOPItem, c *v1.ReportTOPItem) string {
	switch {
	case !c.StartAnswered || !c.LatestAnswered:
		return "unknown"
	case c.LatestScore == c.StartScore:
		return "unchanged"
	case (c.LatestScore > c.StartScore) == (it.Better == schema.TOPHigherBetter):
		return "improved"
	}
	return "worsened"
}
