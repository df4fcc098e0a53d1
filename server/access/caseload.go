package access

import (
	"errors"
	"slices"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Caseload returns the buckets (client ids) a user of role may sync,
// sorted, and for a worker the periods in which they held clients they no
// longer hold (identity.Identity's Buckets and Former):
//
//   - worker: the clients of their open assignments;
//   - supervisor: the clients of their teams (in their area);
//   - admin: the clients of their area.
func Caseload(tx store.DirTx, u *store.User, role identity.Role) ([]string, map[string][]identity.Period, error) {
	var buckets []string
	var former map[string][]identity.Period
	switch role {
	case identity.Worker:
		as, err := tx.AssignmentsOfUser(u.ID)
		if err != nil {
			return nil, nil, err
		}
		buckets, former = workerCaseload(as)
	case identity.Supervisor:
		var err error
		if buckets, err = teamClients(tx, u); err != nil {
			return nil, nil, err
		}
	case identity.Admin:
		buckets = tx.ClientsOfArea(u.AreaID)
	}
	slices.Sort(buckets)
	return slices.Compact(buckets), former, nil
}

// workerCaseload splits a worker's assignments (by client, then start) into
// the clients they hold now and the periods of those they held before.
func workerCaseload(as []*store.Assignment) ([]string, map[string][]identity.Period) {
	var buckets []string
	for _, a := range as {
		if a.Open() {
			buckets = append(buckets, a.ClientID)
		}
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	var former map[string][]identity.Period
	for _, a := range as {
		if a.Open() || slices.Contains(buckets, a.ClientID) {
			continue
		}
		if former == nil {
			former = map[string][]identity.Period{}
		}
		former[a.ClientID] = append(former[a.ClientID], identity.Period{From: a.From, To: a.To})
	}
	return buckets, former
}

// teamClients returns the clients of a supervisor's teams in their area.
func teamClients(tx store.DirTx, u *store.User) ([]string, error) {
	var out []string
	for _, team := range u.TeamIDs {
		for _, cid := range tx.ClientsOfTeam(team) {
			// The team index may lag a client's move to another team: the
			// client record decides.
			c, err := tx.Client(cid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if c.TeamID == team && c.AreaID == u.AreaID {
				out = append(out, cid)
			}
		}
	}
	return out, nil
}

// NewClientHolders returns the users who hold a client created in a team
// of an area at once, before any worker is assigned: the enabled admins of
// the area and the enabled supervisors of the team (exactly the users whose
// Caseload gains it).
func NewClientHolders(tx store.DirTx, areaID, teamID string) ([]string, error) {
	var out []string
	for _, uid := range tx.UsersOfArea(areaID) {
		u, err := tx.User(uid)
		if err != nil {
			return nil, err
		}
		r := identity.ParseRole(u.Role)
		if !u.Disabled && (r == identity.Admin || r == identity.Supervisor && slices.Contains(u.TeamIDs, teamID)) {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

// Assignable returns nil if a user may be assigned a client: only an
// enabled worker of the client's team (so the team's supervisors, who
// review the work, always see the worker). Otherwise an errkind.Invalid or
// errkind.Precondition error saying why.
func Assignable(w *store.User, c *store.Client) error {
	switch {
	case identity.ParseRole(w.Role) != identity.Worker:
		return errkind.E(errkind.Invalid, "only workers can be assigned clients")
	case !slices.Contains(w.TeamIDs, c.TeamID):
		return errkind.E(errkind.Invalid, "the worker is not in the client's team")
	case w.Disabled:
		return errkind.E(errkind.Precondition, "the worker is disabled")
	}
	return nil
}
