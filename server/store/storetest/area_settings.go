package storetest

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// testAreaSettings: an area's own settings (retention, the TOP review
// schedule) survive a round trip and a change back to the default, and
// Areas lists them as Area reads them.
func testAreaSettings(t *testing.T, w *dirWorld) {
	a := &store.Area{ID: "a1", Name: "North", CreatedAt: w.clk.Now(), Retention: 400 * 24 * time.Hour, RetentionSet: true,
		TOPIntervalMonths: 6, TOPWindowDays: 21}
	w.update(func(tx store.DirTx) error { return tx.PutArea(a) })
	check := func(want *store.Area, sched topschedule.Schedule, own bool) {
		t.Helper()
		w.view(func(tx store.DirTx) error {
			got, err := tx.Area("a1")
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "Area(a1)", got, want)
			if s, o := got.TOPSchedule(); s != sched || o != own {
				t.Errorf("TOPSchedule = %+v, %v; want %+v, %v", s, o, sched, own)
			}
			all, err := tx.Areas()
			if err != nil || len(all) != 1 {
				t.Fatalf("Areas = %v, %v", all, err)
			}
			sameJSON(t, "Areas()[0]", all[0], want)
			return nil
		})
	}
	check(a, topschedule.Schedule{IntervalMonths: 6, WindowDays: 21}, true)
	a.TOPIntervalMonths, a.TOPWindowDays = 0, 0
	w.update(func(tx store.DirTx) error { return tx.PutArea(a) })
	check(a, topschedule.Schedule{IntervalMonths: topschedule.DefaultIntervalMonths, WindowDays: topschedule.DefaultWindowDays}, false)
}
