package review

import (
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// The timeline carries the client's change from start: nothing before a
// start TOP; every item unknown with only a start TOP; then, once a review
// follows, the start and latest days and each item's scores and movement
// (the current episode's start, not an older one's).
func TestTimelineTOPChange(t *testing.T) {
	w := newWorld(t)
	opiates := func(tl *v1.GetTimelineResponse) *v1.ReportTOPItem { return tl.GetTopChange()[topIndex("opiates")] }
	timeline := func() *v1.GetTimelineResponse {
		t.Helper()
		tl, err := w.svc.GetTimeline(w.ctx, w.supA1, w.c1)
		if err != nil {
			t.Fatal(err)
		}
		return tl
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

	if tl := timeline(); tl.GetTopStart() != nil || len(tl.GetTopChange()) != 0 {
		t.Fatalf("no TOP yet: start %v, %d items", tl.GetTopStart(), len(tl.GetTopChange()))
	}
	w.top(w.dev1, w.c1, day(1, 5), "start", [4]int{1, 1, 1, 1})
	w.top(w.dev1, w.c1, day(2, 2), "review", [4]int{0, 0, 0, 0})
	w.top(w.dev1, w.c1, day(3, 1), "start", [4]int{7, 7, 6, 5})
	tl := timeline()
	if got := opiates(tl); tl.GetTopLatest() != nil || got.GetMovement() != "unknown" || got.GetStartScore() != 25 || got.GetLatestAnswered() {
		t.Fatalf("only a start TOP in the episode: latest %v, opiates %v", tl.GetTopLatest(), got)
	}
	w.top(w.dev1, w.c1, day(6, 1), "review", [4]int{2, 1, 0, 0})
	tl = timeline()
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"start day", tl.GetTopStart().GetMonth(), int32(3)},
		{"latest day", tl.GetTopLatest().GetMonth(), int32(6)},
		{"items", len(tl.GetTopChange()), len(schema.TOPItems)},
		{"opiates start", opiates(tl).GetStartScore(), int32(25)},
		{"opiates latest", opiates(tl).GetLatestScore(), int32(3)},
		{"opiates movement", opiates(tl).GetMovement(), "improved"},
		{"opiates section", opiates(tl).GetSection(), "substance_use"},
		{"crack movement", tl.GetTopChange()[topIndex("crack")].GetMovement(), "unknown"},
		{"opiates scale", opiates(tl).GetMaxScore(), int32(28)},
		{"quality of life scale", tl.GetTopChange()[topIndex("quality_of_life")].GetMaxScore(), int32(20)},
		{"fraud scale", tl.GetTopChange()[topIndex("fraud")].GetMaxScore(), int32(1)},
		{"crack answered", tl.GetTopChange()[topIndex("crack")].GetStartAnswered(), false},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
