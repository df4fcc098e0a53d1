package caseload

import "testing"

// TestGarbageDue: a value log collection is due after an eviction or a
// reset, or once gcEvery records have been pulled since the last one; a
// reconnect's few hundred records do not each pay for one.
func TestGarbageDue(t *testing.T) {
	d := &Device{}
	steps := []struct {
		rep  SyncReport
		want bool
	}{
		{SyncReport{Pulled: 200}, false},
		{SyncReport{Pulled: gcEvery - 300}, false},
		{SyncReport{Pulled: 100}, true}, // gcEvery in all
		{SyncReport{Pulled: 200}, false},
		{SyncReport{Evicted: 1}, true},
		{SyncReport{Reset: true}, true},
		{SyncReport{Pulled: gcEvery}, true},
		{SyncReport{}, false},
	}
	for i, s := range steps {
		if got := d.garbageDue(s.rep); got != s.want {
			t.Errorf("step %d (%+v): due %v, want %v", i, s.rep, got, s.want)
		}
	}
}
