package review

import "testing"

// TestForgetDropsTheSummary: a purged client's summary (their name with
// it) leaves the cache; the others stay.
func TestForgetDropsTheSummary(t *testing.T) {
	s := &Service{}
	s.cases.put("purged", &caseSummary{head: 3, given: "Ann", family: "Example"})
	s.cases.put("kept", &caseSummary{head: 1})
	s.Forget("purged")
	s.Forget("never-seen") // nothing to drop: no harm
	if got := s.cases.get("purged", 3); got != nil {
		t.Errorf("the purged client's summary is still cached: %+v", got)
	}
	if s.cases.get("kept", 1) == nil {
		t.Error("another client's summary was dropped")
	}
	if n := len(s.cases.m); n != 1 {
		t.Errorf("%d summaries cached, want 1", n)
	}
}
