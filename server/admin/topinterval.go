package admin

import (
	"context"
	"fmt"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// Bounds on an area's TOP review schedule.
const (
	MaxTOPIntervalMonths = 12
	MaxTOPWindowDays     = 31
)

// TOPSchedule is an area's TOP review schedule, and whether it is the
// area's own (else the default: every three months, a fortnight either
// side).
type TOPSchedule struct {
	topschedule.Schedule
	Own bool
}

func topScheduleOf(a *store.Area) TOPSchedule {
	s, own := a.TOPSchedule()
	return TOPSchedule{s, own}
}

// SetTOPInterval sets the caller's area's TOP review schedule (admins):
// reviews every months months, window days either side (0: 14), or back
// to the default if useDefault. The change is audited (RecordID the
// setting: "default" or "3m14d").
func (s *Service) SetTOPInterval(ctx context.Context, id *identity.Identity, months, window int, useDefault bool) (TOPSchedule, error) {
	if window == 0 {
		window = topschedule.DefaultWindowDays
	}
	if !useDefault {
		if months < 1 || months > MaxTOPIntervalMonths {
			return TOPSchedule{}, errkind.E(errkind.Invalid, "interval_months must be 1 to %d", MaxTOPIntervalMonths)
		}
		if window < 1 || window > MaxTOPWindowDays || 2*window >= 28*months {
			return TOPSchedule{}, errkind.E(errkind.Invalid, "window_days must be 1 to %d and under half the interval", MaxTOPWindowDays)
		}
	}
	var out TOPSchedule
	err := s.directory(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.SetTOPInterval)
		if err != nil {
			return err
		}
		a, err := tx.Area(sc.Area())
		if err != nil {
			return err
		}
		a.TOPIntervalMonths, a.TOPWindowDays = months, window
		if useDefault {
			a.TOPIntervalMonths, a.TOPWindowDays = 0, 0
		}
		if err := tx.PutArea(a); err != nil {
			return err
		}
		out = topScheduleOf(a)
		e := audit.Entry(ctx, id, store.AuditSetTOPInterval, s.now())
		e.RecordID = "default"
		if out.Own {
			e.RecordID = fmt.Sprintf("%dm%dd", out.IntervalMonths, out.WindowDays)
		}
		return tx.AppendAudit(e)
	})
	if err == nil {
		s.log.Info().Str("user_id", id.UserID).Str("area_id", id.Area).Int("interval_months", out.IntervalMonths).
			Int("window_days", out.WindowDays).Bool("own", out.Own).Msg("TOP interval set")
	}
	return out, err
}
