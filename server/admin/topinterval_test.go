package admin

import (
	"slices"
	"strings"
	"testing"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// An admin sets the area's TOP review interval (the range checked, naming
// the field), GetArea shows it to everyone of the area and no other, each
// change is audited, and the default comes back on asking.
func TestSetTOPInterval(t *testing.T) {
	w := newWorld(t)
	sched := func(m, d int, own bool) TOPSchedule {
		return TOPSchedule{Schedule: topschedule.Schedule{IntervalMonths: m, WindowDays: d}, Own: own}
	}
	for _, tc := range []struct {
		name           string
		months, window int
		useDefault     bool
		want           TOPSchedule
		err            errkind.Kind
		field          string
	}{
		{"every six months, three weeks either side", 6, 21, false, sched(6, 21, true), 0, ""},
		{"the window defaults to a fortnight", 2, 0, false, sched(2, 14, true), 0, ""},
		{"no interval", 0, 14, false, TOPSchedule{}, errkind.Invalid, "interval_months"},
		{"over a year", 13, 14, false, TOPSchedule{}, errkind.Invalid, "interval_months"},
		{"a window over a month", 3, 32, false, TOPSchedule{}, errkind.Invalid, "window_days"},
		{"a window of half a monthly interval", 1, 14, false, TOPSchedule{}, errkind.Invalid, "window_days"},
		{"a monthly interval, a week either side", 1, 7, false, sched(1, 7, true), 0, ""},
		{"back to the default", 0, 0, true, sched(3, 14, false), 0, ""},
	} {
		got, err := w.svc.SetTOPInterval(w.ctx, w.adminA, tc.months, tc.window, tc.useDefault)
		if errkind.Of(err) != tc.err || got != tc.want {
			t.Errorf("%s: SetTOPInterval = %+v, %v; want %+v, kind %v", tc.name, got, err, tc.want, tc.err)
		}
		if tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field)) {
			t.Errorf("%s: the refusal %v does not name %s", tc.name, err, tc.field)
		}
		if tc.err != 0 {
			continue
		}
		for _, id := range []*identity.Identity{w.adminA, w.supA1, w.workerA1} {
			if a, err := w.svc.GetArea(w.ctx, id); err != nil || a.TOP != tc.want {
				t.Errorf("%s: %s's GetArea TOP = %+v, %v", tc.name, id.Role, a.TOP, err)
			}
		}
	}
	if a, err := w.svc.GetArea(w.ctx, w.workerB1); err != nil || a.TOP.Own {
		t.Errorf("another area's schedule changed: %+v, %v", a.TOP, err)
	}
	if _, err := w.svc.SetTOPInterval(w.ctx, w.supA1, 6, 14, false); errkind.Of(err) != errkind.Forbidden {
		t.Errorf("a supervisor's SetTOPInterval: %v, want Forbidden", err)
	}
	var settings []string
	if err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfUser(w.areaA, w.adminA.UserID, 0, 0)
		for _, a := range as {
			if a.Action == store.AuditSetTOPInterval {
				settings = append(settings, a.RecordID)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"6m21d", "2m14d", "1m7d", "default"}; !slices.Equal(settings, want) {
		t.Errorf("audited settings %v, want %v", settings, want)
	}
}
