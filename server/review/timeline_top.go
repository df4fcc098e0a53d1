package review

import (
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topchange"
)

// timelineTOPChange fills a timeline's change from start from the client's
// records: the current episode's start TOP and latest TOP since
// (topchange.Episode, among the live outcome_review records), item by
// item with each item's movement (topchange.Compare). Without a start TOP
// it leaves the response's TOP fields unset.
func timelineTOPChange(resp *v1.GetTimelineResponse, records []*v1.TimelineRecord) {
	var tops []topchange.TOP
	for _, tr := range records {
		if tr.GetRecord().GetRecordType() != "outcome_review" {
			continue
		}
		if t, live := topchange.FromState(tr.GetRecord()); live {
			tops = append(tops, t)
		}
	}
	start, latest := topchange.Episode(tops)
	if start < 0 {
		return
	}
	var last topchange.TOP
	resp.TopStart = dateMsg(tops[start].Day)
	if latest >= 0 {
		last = tops[latest]
		resp.TopLatest = dateMsg(last.Day)
	}
	resp.TopChange = topChangeMsg(tops[start], last)
}

// topChangeMsg is each TOP item at start and at the latest TOP (last is the
// zero TOP when there is none yet), with its movement and scale, as the
// timeline and the order report send it.
func topChangeMsg(start, last topchange.TOP) []*v1.ReportTOPItem {
	var out []*v1.ReportTOPItem
	for _, c := range topchange.Compare(start, last) {
		it := c.Item()
		out = append(out, &v1.ReportTOPItem{
			Item: it.Name, Section: it.Section,
			StartScore: int32(c.Start.Value), StartAnswered: c.Start.Answered,
			LatestScore: int32(c.Latest.Value), LatestAnswered: c.Latest.Answered,
			Movement: c.Movement.String(), MaxScore: topMax(it),
		})
	}
	return out
}

// topMax is an item's highest score.
func topMax(it schema.TOPItem) int32 {
	switch it.Kind {
	case schema.TOPRating:
		return schema.TOPRatingMax
	case schema.TOPYesNo:
		return 1
	}
	return schema.TOPPeriodDays
}
