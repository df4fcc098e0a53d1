package admin

import (
	"context"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// User is a user as the caller may see them.
type User struct {
	ID, DisplayName string
	Role            identity.Role
	// TeamIDs are the user's teams within the caller's reach.
	TeamIDs  []string
	Disabled bool
}

// ListUsers lists the users the caller reaches (an admin: everyone in the
// area; a supervisor: everyone sharing one of their teams), by name. Team
// ids outside the caller's reach are left out.
func (s *Service) ListUsers(ctx context.Context, id *identity.Identity) ([]User, error) {
	out := []User{}
	err := s.view(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.ListUsers)
		if err != nil {
			return err
		}
		for _, uid := range tx.UsersOfArea(sc.Area()) {
			u, err := tx.User(uid)
			if err != nil {
				return err
			}
			if u.AreaID != sc.Area() || !sc.SharesTeam(u) {
				continue
			}
			out = append(out, User{ID: u.ID, DisplayName: u.DisplayName, Role: identity.ParseRole(u.Role),
				TeamIDs: sc.VisibleTeams(u.TeamIDs), Disabled: u.Disabled})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByName(out, func(u User) string { return u.DisplayName }, func(u User) string { return u.ID })
	return out, nil
}

// DisableUser stops a user of the caller's area signing in and ends their
// sessions and streams (admins only). Callers cannot disable themselves, so
// an area cannot lose its last admin this way. The user's assignments are
// kept; reassign their clients separately. Disabling a disabled user ends
// their sessions again, so a retry after a failure to end them is harmless.
func (s *Service) DisableUser(ctx context.Context, id *identity.Identity, userID string) error {
	err := s.directory(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.DisableUsers)
		if err != nil {
			return err
		}
		u, err := sc.Member(tx, userID, "user_id")
		if err != nil {
			return err
		}
		if u.ID == id.UserID {
			return errkind.E(errkind.Invalid, "you cannot disable yourself")
		}
		if u.Disabled {
			return nil
		}
		u.Disabled = true
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return s.changeAudit(ctx, tx, id, store.AuditDisableUser, "", u.ID, "")
	})
	if err != nil {
		return err
	}
	if err := s.sessions.EndUserSessions(ctx, userID); err != nil {
		s.log.Error().Err(err).Str("user_id", id.UserID).Str("target_id", userID).Msg("user disabled but sessions not ended")
		return errkind.Wrap(errkind.Unavailable, err, "the user is disabled but not all their sessions could be ended; retry")
	}
	s.log.Info().Str("user_id", id.UserID).Str("target_id", userID).Msg("user disabled")
	return nil
}
