package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Area describes an area.
type Area struct {
	ID, Name string
	// TOP is the area's TOP review schedule.
	TOP TOPSchedule
}

// Team is a team of an area.
type Team struct {
	ID, Name string
}

// GetArea describes the caller's area. Every role may ask.
func (s *Service) GetArea(ctx context.Context, id *identity.Identity) (Area, error) {
	var out Area
	err := s.view(ctx, func(tx store.DirTx) error {
		if _, err := access.Resolve(tx, id, access.DescribeArea); err != nil {
			return err
		}
		a, err := tx.Area(id.Area)
		if errors.Is(err, store.ErrNotFound) {
			return errkind.E(errkind.NotFound, "area not found")
		}
		if err != nil {
			return err
		}
		out = Area{ID: a.ID, Name: a.Name, TOP: topScheduleOf(a)}
		return nil
	})
	return out, err
}

// CreateTeam adds a team to the caller's area (admins only). Team names are
// unique within an area, ignoring case, so a retried request answers
// errkind.Exists rather than making a second team.
func (s *Service) CreateTeam(ctx context.Context, id *identity.Identity, name string) (Team, error) {
	name, err := cleanName("name", name)
	if err != nil {
		return Team{}, err
	}
	t := &store.Team{ID: uuid.Must(uuid.NewV7()).String(), Name: name}
	err = s.directory(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.CreateTeams)
		if err != nil {
			return err
		}
		t.AreaID = sc.Area()
		for _, tid := range tx.TeamsOfArea(sc.Area()) {
			other, err := tx.Team(tid)
			if err != nil {
				return err
			}
			if strings.EqualFold(other.Name, name) {
				return errkind.E(errkind.Exists, "a team with this name already exists in the area")
			}
		}
		return tx.PutTeam(t)
	})
	if err != nil {
		return Team{}, err
	}
	s.log.Info().Str("user_id", id.UserID).Str("area_id", t.AreaID).Str("team_id", t.ID).Msg("team created")
	return Team{ID: t.ID, Name: t.Name}, nil
}

// ListTeams lists the teams the caller reaches (an admin: every team of the
// area; a supervisor: their own), by name.
func (s *Service) ListTeams(ctx context.Context, id *identity.Identity) ([]Team, error) {
	out := []Team{}
	err := s.view(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.ListTeams)
		if err != nil {
			return err
		}
		for _, tid := range sc.VisibleTeams(tx.TeamsOfArea(sc.Area())) {
			t, err := tx.Team(tid)
			if err != nil {
				return err
			}
			out = append(out, Team{ID: t.ID, Name: t.Name})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByName(out, func(t Team) string { return t.Name }, func(t Team) string { return t.ID })
	return out, nil
}
