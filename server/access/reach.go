package access

import (
	"errors"
	"slices"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Reach is what a caller reaches in the directory, outside sync, for one
// request: their area and, for a supervisor, their teams. Resolve it inside
// the directory transaction that uses it.
type Reach struct {
	area  string
	admin bool
	teams []string // a supervisor's teams; unused for admins
}

// Answers for what is out of reach: the same as for what does not exist.
var (
	errTeamNotFound   = errkind.E(errkind.NotFound, "team not found")
	errUserNotFound   = errkind.E(errkind.NotFound, "user not found")
	errClientNotFound = errkind.E(errkind.NotFound, "client not found")
)

// Resolve checks that the caller's role may do a (Allow), then loads their
// directory entry: a caller who is missing, disabled, in another area or
// whose role changed gets ErrSignIn.
func Resolve(tx store.DirTx, id *identity.Identity, a Action) (*Reach, error) {
	if err := Allow(id, a); err != nil {
		return nil, err
	}
	u, err := tx.User(id.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignIn
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.AreaID != id.Area || identity.ParseRole(u.Role) != id.Role {
		return nil, ErrSignIn
	}
	return &Reach{area: id.Area, admin: id.Role == identity.Admin, teams: u.TeamIDs}, nil
}

// Area is the caller's area.
func (r *Reach) Area() string { return r.area }

// Admin reports whether the caller reaches their whole area.
func (r *Reach) Admin() bool { return r.admin }

// Teams returns a supervisor's teams (an admin reaches every team of the
// area, whatever this says).
func (r *Reach) Teams() []string { return slices.Clone(r.teams) }

// HasTeam reports whether a team (of the caller's area) is in reach.
func (r *Reach) HasTeam(teamID string) bool { return r.admin || slices.Contains(r.teams, teamID) }

// SharesTeam reports whether a user (of the caller's area) is in reach by
// team.
func (r *Reach) SharesTeam(u *store.User) bool {
	return r.admin || slices.ContainsFunc(u.TeamIDs, r.HasTeam)
}

// VisibleTeams filters team ids to those in reach.
func (r *Reach) VisibleTeams(ids []string) []string {
	out := []string{}
	for _, t := range ids {
		if r.HasTeam(t) {
			out = append(out, t)
		}
	}
	return out
}

// HasClient reports whether a client is in reach: in the caller's area and
// in a team they reach.
func (r *Reach) HasClient(c *store.Client) bool { return c.AreaID == r.area && r.HasTeam(c.TeamID) }

// MayInvite reports whether the caller may invite someone of role: admins
// any role, supervisors only workers.
func (r *Reach) MayInvite(role identity.Role) bool { return r.admin || role == identity.Worker }

// ManagesInvite reports whether the caller manages an invite: an admin
// every invite of their area, a supervisor the invites of workers to their
// teams.
func (r *Reach) ManagesInvite(in *store.Invite) bool {
	if in.AreaID != r.area {
		return false
	}
	return r.admin || identity.ParseRole(in.Role) == identity.Worker && in.TeamID != "" && r.HasTeam(in.TeamID)
}

// Team returns a team in reach, or NotFound.
func (r *Reach) Team(tx store.DirTx, teamID string) (*store.Team, error) {
	if teamID == "" {
		return nil, errkind.E(errkind.Invalid, "team_id is required")
	}
	t, err := tx.Team(teamID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (t.AreaID != r.area || !r.HasTeam(t.ID)) {
		return nil, errTeamNotFound
	}
	return t, err
}

// Member returns a user in reach, or NotFound; field names the request
// field that holds the id.
func (r *Reach) Member(tx store.DirTx, userID, field string) (*store.User, error) {
	if userID == "" {
		return nil, errkind.E(errkind.Invalid, "%s is required", field)
	}
	u, err := tx.User(userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.AreaID != r.area || !r.SharesTeam(u)) {
		return nil, errUserNotFound
	}
	return u, err
}

// Client returns a client in reach, or NotFound.
func (r *Reach) Client(tx store.DirTx, clientID string) (*store.Client, error) {
	if clientID == "" {
		return nil, errkind.E(errkind.Invalid, "client_id is required")
	}
	c, err := tx.Client(clientID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !r.HasClient(c) {
		return nil, errClientNotFound
	}
	return c, err
}
