package subject

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// MaxRetention bounds an area's retention (a hundred years).
const MaxRetention = 100 * 366 * 24 * time.Hour

// Retention is an area's retention: how long a closed client is kept (0:
// for ever), and whether it is the area's own setting (else the server's
// default).
type Retention struct {
	Period time.Duration
	Own    bool
}

// effective is an area's retention.
func (s *Service) effective(a *store.Area) Retention {
	if a.RetentionSet {
		return Retention{Period: a.Retention, Own: true}
	}
	return Retention{Period: s.retention}
}

// AreaRetention returns the caller's area's retention (any signed-in
// caller may describe their area).
func (s *Service) AreaRetention(ctx context.Context, id *identity.Identity) (Retention, error) {
	var out Retention
	err := storeErr(s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.DescribeArea)
		if err != nil {
			return err
		}
		a, err := tx.Area(sc.Area())
		if err != nil {
			return err
		}
		out = s.effective(a)
		return nil
	}))
	return out, err
}

// SetRetention sets the caller's area's retention (admins): period (0:
// keep for ever), or back to the server's default if useDefault. The
// change is audited; the next sweep applies it.
func (s *Service) SetRetention(ctx context.Context, id *identity.Identity, period time.Duration, useDefault bool) (Retention, error) {
	if !useDefault && (period < 0 || period > MaxRetention) {
		return Retention{}, errkind.E(errkind.Invalid, "the retention must be between 0 (keep for ever) and %d days", MaxRetention/(24*time.Hour))
	}
	var out Retention
	err := storeErr(s.st.Directory(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.SetRetention)
		if err != nil {
			return err
		}
		a, err := tx.Area(sc.Area())
		if err != nil {
			return err
		}
		a.Retention, a.RetentionSet = period, !useDefault
		if useDefault {
			a.Retention = 0
		}
		if err := tx.PutArea(a); err != nil {
			return err
		}
		out = s.effective(a)
		setting := "default"
		if out.Own {
			setting = out.Period.String()
		}
		return retentionAudit(ctx, tx, id, s.now(), setting)
	}))
	if err == nil {
		s.log.Info().Str("user_id", id.UserID).Str("area_id", id.Area).Dur("retention", out.Period).Bool("own", out.Own).Msg("retention set")
	}
	return out, err
}

// Run sweeps once at once and then at every tick, until ctx ends or ticks
// closes. A failed sweep is logged and tried again at the next tick.
func (s *Service) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("retention sweep failed")
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ticks:
			if !ok {
				return
			}
		}
	}
}

// candidate is a client a sweep considers.
type candidate struct {
	id, area, team string
	retention      time.Duration
}

// Sweep finishes interrupted purges, then purges every client due (see the
// package doc), one by one, and returns the ids purged. It goes on past a
// client it cannot purge and returns the first such error with the rest.
func (s *Service) Sweep(ctx context.Context) ([]string, error) {
	finished, err := s.st.FinishPurges(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	for _, id := range finished {
		s.log.Info().Str("client_id", id).Msg("interrupted purge finished")
	}
	var due []candidate
	err = s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		due = nil
		areas, err := tx.Areas()
		if err != nil {
			return err
		}
		for _, a := range areas {
			r := s.effective(a)
			if r.Period <= 0 {
				continue
			}
			for _, cid := range tx.ClientsOfArea(a.ID) {
				c, err := tx.Client(cid)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				due = append(due, candidate{id: c.ID, area: a.ID, team: c.TeamID, retention: r.Period})
			}
		}
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	var purged []string
	var first error
	for _, c := range due {
		if err := ctx.Err(); err != nil {
			return purged, err
		}
		ok, err := s.purgeIfDue(ctx, c)
		if err != nil {
			s.log.Warn().Err(err).Str("client_id", c.id).Msg("retention purge failed")
			first = cmp.Or(first, err)
			continue
		}
		if ok {
			purged = append(purged, c.id)
		}
	}
	return purged, first
}

// purgeIfDue purges a client if their case is closed and their bucket
// has taken no change for longer than the retention.
func (s *Service) purgeIfDue(ctx context.Context, c candidate) (bool, error) {
	recs, err := s.st.Records(ctx, c.id, []string{c.id})
	if err != nil {
		return false, storeErr(err)
	}
	if status := merge.Field(recs[c.id], "status"); status.GetValue().GetStringValue() != "closed" {
		return false, nil
	}
	heads, err := s.st.Heads(ctx, []string{c.id})
	if err != nil {
		return false, storeErr(err)
	}
	head := heads[c.id]
	last, err := s.st.LogEntries(ctx, c.id, []uint64{head})
	if err != nil {
		return false, storeErr(err)
	}
	if last[head] == nil {
		return false, nil
	}
	now, lastChange := s.now(), last[head].GetReceivedAt().AsTime()
	if now.Sub(lastChange) <= c.retention {
		return false, nil
	}
	holders, err := s.holders(ctx, c)
	if err != nil {
		return false, err
	}
	err = s.st.PurgeClient(ctx, c.id, head, now, purgeAudit(c.area, c.id, now, lastChange, c.retention))
	if errors.Is(err, store.ErrChanged) || errors.Is(err, store.ErrNotFound) {
		return false, nil // reopened, written to or gone since: the next sweep decides again
	}
	if err != nil {
		return false, storeErr(err)
	}
	s.sessions.CaseloadChanged(holders...)
	s.purged(c.id)
	s.log.Info().Str("client_id", c.id).Str("area_id", c.area).Time("last_change", lastChange).Dur("retention", c.retention).Msg("client purged (retention)")
	return true, nil
}

// holders are the users whose devices hold a client: the area's admins,
// the team's supervisors and the workers assigned now.
func (s *Service) holders(ctx context.Context, c candidate) ([]string, error) {
	var out []string
	err := storeErr(s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		var err error
		if out, err = access.NewClientHolders(tx, c.area, c.team); err != nil {
			return err
		}
		as, err := tx.AssignmentsOfClient(c.id)
		for _, a := range as {
			if a.Open() && !slices.Contains(out, a.UserID) {
				out = append(out, a.UserID)
			}
		}
		return err
	}))
	return out, err
}
