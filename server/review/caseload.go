package review

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// MissedWindow is how far back the caseload counts missed appointments.
const MissedWindow = 90 * 24 * time.Hour

// caseLine is a client's caseload line with its sort keys.
type caseLine struct {
	c                *client
	last, next       instant
	hasLast, hasNext bool
	overdue          uint32
	worker           string
	out              *v1.CaseloadClient
}

// Forget drops what the caseload view keeps of a client (a summary with
// their name), for a client purged from the store.
func (s *Service) Forget(clientID string) { s.cases.forget(clientID) }

// GetCaseload lists the clients in the caller's reach (of one team if
// team_id is set: NotFound if out of reach) that answer the search (see
// GetCaseloadRequest), each with the workers assigned now, the last live
// contact, the next appointment booked from now, missed appointments (in
// the MissedWindow up to now), booked appointments past with no outcome,
// overdue follow-ups, records with open conflicts, unanswered queries and
// the next TOP under the area's schedule (see top.go).
// Deleted clients are left out, closed ones too unless asked for. The view
// is audited like ListContacts: one entry naming the clients returned.
func (s *Service) GetCaseload(ctx context.Context, id *identity.Identity, req *v1.GetCaseloadRequest) (*v1.GetCaseloadResponse, error) {
	if req.GetTeamId() != "" && !schema.ValidID(req.GetTeamId()) {
		return nil, invalid("team_id must be a lower-case UUID")
	}
	if _, ok := v1.CaseloadSort_name[int32(req.GetSort())]; !ok {
		return nil, invalid("sort is not a caseload order")
	}
	sc, err := s.resolveScope(ctx, id, access.ViewCaseload, req.GetTeamId(), true)
	if err != nil {
		return nil, err
	}
	q := parseSearch(req.GetSearch())
	now := instantOf(s.now())
	missedFrom := instantOf(s.now().Add(-MissedWindow))
	sums, err := s.caseSummaries(ctx, sc)
	if err != nil {
		return nil, err
	}
	sched, schedMsg, err := s.areaTOPSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	var lines []*caseLine
	total := 0 // in reach, not deleted (entered in error)
	for i, c := range sc.clients {
		if !c.deleted {
			total++
		}
		if c.deleted || c.closed && !req.GetIncludeClosed() || !q.matches(c) {
			continue
		}
		l := caseLineOf(c, sums[i], now, missedFrom)
		l.out.NextTop = nextTOPMsg(sched.NextTOP(sums[i].top, now.time()))
		lines = append(lines, l)
	}
	if err := s.dressCaseload(ctx, sc, lines); err != nil {
		return nil, err
	}
	sortCaseload(lines, req.GetSort(), req.GetDescending())
	resp := &v1.GetCaseloadResponse{Total: uint32(total), Clients: make([]*v1.CaseloadClient, len(lines)), TopSchedule: schedMsg}
	ids := make([]string, len(lines))
	for i, l := range lines {
		resp.Clients[i], ids[i] = l.out, l.c.id
	}
	if err := s.auditView(ctx, id, store.AuditViewContacts, ids, req.GetTeamId(), len(ids)); err != nil {
		return nil, err
	}
	return resp, nil
}

// caseLineOf is a client's line as of now.
func caseLineOf(c *client, sum *caseSummary, now, missedFrom instant) *caseLine {
	l := &caseLine{c: c, out: &v1.CaseloadClient{ClientId: c.id, ClientName: c.name, TeamId: c.team, Status: c.status,
		OpenConflicts: uint32(sum.conflicted), OpenQueries: sum.openQueries}}
	if c.born != noDay {
		d := time.Unix(c.born*86400, 0).UTC()
		l.out.DateOfBirth = &v1.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}
	}
	if sum.hasLatest {
		l.last, l.hasLast = sum.latest, true
		l.out.LastContact = timestamppb.New(sum.latest.time())
	}
	today := caseday.TodayNumber(now.time())
	for _, d := range sum.latestFollowUps {
		if caseday.Passed(d, today) {
			l.out.OverdueFollowUps++
		}
	}
	var lastMissed instant
	for i := range sum.appts {
		a := &sum.appts[i]
		switch {
		case a.status == apptBooked && a.at.compare(now) >= 0:
			if !l.hasNext || a.at.compare(l.next) < 0 {
				l.next, l.hasNext, l.out.NextAppointmentType = a.at, true, a.typ
			}
		case a.status == apptBooked:
			l.out.OverdueAppointments++
		case a.status == apptDNA && a.at.compare(missedFrom) >= 0 && a.at.compare(now) <= 0:
			l.out.MissedAppointments++
			if a.at.compare(lastMissed) > 0 {
				lastMissed = a.at
			}
		}
	}
	if l.hasNext {
		l.out.NextAppointment = timestamppb.New(l.next.time())
	}
	if l.out.MissedAppointments > 0 {
		l.out.LastMissed = timestamppb.New(lastMissed.time())
	}
	l.overdue = l.out.MissedAppointments + l.out.OverdueAppointments + l.out.OverdueFollowUps
	return l
}

// dressCaseload names the lines' teams and current workers (from the open
// assignments resolveScope read), in one directory transaction.
func (s *Service) dressCaseload(ctx context.Context, sc *scope, lines []*caseLine) error {
	return s.view(ctx, func(tx store.DirTx) error {
		users := map[string]*store.User{}
		teams := map[string]string{}
		for _, l := range lines {
			l.out.Workers = l.out.Workers[:0]
			name, ok := teams[l.c.team]
			if !ok {
				if t, err := tx.Team(l.c.team); err == nil && t.AreaID == sc.id.Area {
					name = t.Name
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				teams[l.c.team] = name
			}
			l.out.TeamName = name
			for _, a := range l.c.open {
				if slices.ContainsFunc(l.out.Workers, func(p *v1.Person) bool { return p.UserId == a.UserID }) {
					continue
				}
				u, ok := users[a.UserID]
				if !ok {
					var err error
					if u, err = tx.User(a.UserID); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
					users[a.UserID] = u
				}
				if u != nil && u.AreaID == sc.id.Area {
					l.out.Workers = append(l.out.Workers, &v1.Person{UserId: u.ID, DisplayName: u.DisplayName})
				}
			}
			slices.SortFunc(l.out.Workers, func(a, b *v1.Person) int {
				return cmp.Or(strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)), strings.Compare(a.UserId, b.UserId))
			})
			l.worker = ""
			if len(l.out.Workers) > 0 {
				l.worker = strings.ToLower(l.out.Workers[0].DisplayName)
			}
		}
		return nil
	})
}

// sortCaseload orders the lines (ties: family name, given name, id).
func sortCaseload(lines []*caseLine, by v1.CaseloadSort, desc bool) {
	byName := func(a, b *caseLine) int {
		an, bn := a.c.names(), b.c.names()
		return cmp.Or(strings.Compare(an.lowFamily, bn.lowFamily), strings.Compare(an.lowGiven, bn.lowGiven), strings.Compare(a.c.id, b.c.id))
	}
	// present orders what is set before what is not.
	present := func(a, b bool) int {
		switch {
		case a == b:
			return 0
		case a:
			return -1
		}
		return 1
	}
	key := func(a, b *caseLine) int {
		switch by {
		case v1.CaseloadSort_CASELOAD_SORT_LAST_CONTACT:
			return cmp.Or(present(!a.hasLast, !b.hasLast), a.last.compare(b.last))
		case v1.CaseloadSort_CASELOAD_SORT_NEXT_APPOINTMENT:
			return cmp.Or(present(a.hasNext, b.hasNext), a.next.compare(b.next))
		case v1.CaseloadSort_CASELOAD_SORT_OVERDUE:
			return cmp.Compare(b.overdue, a.overdue)
		case v1.CaseloadSort_CASELOAD_SORT_WORKER:
			return cmp.Or(present(a.worker != "", b.worker != ""), strings.Compare(a.worker, b.worker))
		}
		return 0
	}
	slices.SortFunc(lines, func(a, b *caseLine) int {
		k := key(a, b)
		if desc {
			k = -k
		}
		if k != 0 {
			return k
		}
		n := byName(a, b)
		if desc && by <= v1.CaseloadSort_CASELOAD_SORT_NAME {
			return -n
		}
		return n
	})
}
