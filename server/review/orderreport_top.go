package review

import (
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topchange"
)

// reportTOPChange fills a report's TOP change from start as of the
// period's last service day, by the shared rule (topchange.Episode among
// the TOPs interviewed by then, topchange.Compare item by item). It
// returns how many TOPs it compared.
func reportTOPChange(resp *v1.GetOrderReportResponse, states []*v1.RecordState, lastDay int64) int {
	var tops []topchange.TOP
	var dates []*v1.Date
	for _, st := range states {
		t, live := topchange.FromState(st)
		date := merge.Field(st, "interview_date").GetValue().GetDateValue()
		if live && schema.ValidDate(date) && dayNumber(date) <= lastDay {
			tops, dates = append(tops, t), append(dates, date)
		}
	}
	start, latest := topchange.Episode(tops)
	if start < 0 {
		return 0
	}
	resp.TopStart = dates[start]
	var last topchange.TOP
	if latest >= 0 {
		last, resp.TopLatest = tops[latest], dates[latest]
	}
	resp.TopChange = topChangeMsg(tops[start], last)
	if latest >= 0 {
		return 2
	}
	return 1
}
