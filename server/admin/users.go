package admin

import (
	"context"
	"time"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Invite is a new invite: the code to hand over (shown once; only its hash
// is stored) and when it expires.
type Invite struct {
	Code      string
	ExpiresAt time.Time
}

// User is a user as the caller may see them.
type User struct {
	ID, DisplayName string
	Role            identity.Role
	// TeamIDs are the user's teams within the caller's reach.
	TeamIDs  []string
	Disabled bool
}

// CreateInvite makes a one-time invite for a person to enrol with the role,
// in the caller's area, expiring after the configured TTL. Workers and
// supervisors join a team in the caller's reach (required); an admin invite
// needs no team (if one is given it must be in the area). Admins may invite
// any role; supervisors only workers, to their own teams.
func (s *Service) CreateInvite(ctx context.Context, id *identity.Identity, role identity.Role, teamID, displayName string) (Invite, error) {
	name, err := cleanName("display_name", displayName)
	if err != nil {
		return Invite{}, err
	}
	if role != identity.Worker && role != identity.Supervisor && role != identity.Admin {
		return Invite{}, errkind.E(errkind.Invalid, "role must be worker, supervisor or admin")
	}
	code := auth.NewInviteCode()
	in := &store.Invite{Hash: auth.HashSecret(code), Role: role.String(), DisplayName: name, ExpiresAt: s.now().Add(s.ttl)}
	err = s.directory(ctx, func(tx *store.DirTx) error {
		sc, err := resolve(tx, id, "invite people", identity.Supervisor, identity.Admin)
		if err != nil {
			return err
		}
		if !sc.admin && role != identity.Worker {
			return forbidden(id.Role, "invite a "+role.String())
		}
		if teamID == "" && role != identity.Admin {
			return errkind.E(errkind.Invalid, "team_id is required to invite a %s", role)
		}
		if teamID != "" {
			if _, err := sc.team(tx, teamID); err != nil {
				return err
			}
		}
		in.AreaID, in.TeamID, in.CreatedBy = sc.area, teamID, id.UserID
		return tx.PutInvite(in)
	})
	if err != nil {
		return Invite{}, err
	}
	s.log.Info().Str("user_id", id.UserID).Str("area_id", in.AreaID).Str("team_id", teamID).Str("role", in.Role).
		Time("expires_at", in.ExpiresAt).Msg("invite created")
	return Invite{Code: code, ExpiresAt: in.ExpiresAt}, nil
}

// ListUsers lists the users the caller reaches (an admin: everyone in the
// area; a supervisor: everyone sharing one of their teams), by name. Team
// ids outside the caller's reach are left out.
func (s *Service) ListUsers(ctx context.Context, id *identity.Identity) ([]User, error) {
	out := []User{}
	err := s.view(ctx, func(tx *store.DirTx) error {
		sc, err := resolve(tx, id, "list users", identity.Supervisor, identity.Admin)
		if err != nil {
			return err
		}
		for _, uid := range tx.UsersOfArea(sc.area) {
			u, err := tx.User(uid)
			if err != nil {
				return err
			}
			if u.AreaID != sc.area || !sc.sharesTeam(u) {
				continue
			}
			out = append(out, User{ID: u.ID, DisplayName: u.DisplayName, Role: identity.ParseRole(u.Role),
				TeamIDs: sc.visibleTeams(u.TeamIDs), Disabled: u.Disabled})
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
	err := s.directory(ctx, func(tx *store.DirTx) error {
		sc, err := resolve(tx, id, "disable users", identity.Admin)
		if err != nil {
			return err
		}
		u, err := sc.member(tx, userID, "user_id")
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
		return tx.PutUser(u)
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
