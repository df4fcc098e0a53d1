package review

// The Treatment Outcomes Profile schedule in the supervisors' view: each
// caseload line's next TOP, and the data-quality list (ListTOPIssues).
// Both ask package topschedule, with the area's schedule and the
// service's day, so they agree with the tablet's TOPs due.

import (
	"context"
	"errors"
	"time"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// topBrief is a live TOP: its interview day (days since the epoch) and
// stage.
type topBrief struct {
	day   int64
	stage string
}

// addTOP keeps a live outcome_review record's day and stage.
func (b *bucketData) addTOP(r *rec) {
	if r.get(schema.DeletedField) != nil {
		return
	}
	if d := r.day("interview_date"); d != noDay {
		b.tops = append(b.tops, topBrief{d, string(r.str("stage"))})
	}
}

// topClient is what the schedule needs of the bucket's client.
func (b *bucketData) topClient() topschedule.Client {
	var c topschedule.Client
	c.TreatmentStart, c.Discharged = dayTime(b.treatment[0]), dayTime(b.treatment[1])
	for _, t := range b.tops {
		c.TOPs = append(c.TOPs, topschedule.TOP{Day: dayTime(t.day), Stage: t.stage})
	}
	return c
}

// dayTime is a day number's midnight UTC (the zero time for noDay).
func dayTime(d int64) time.Time {
	if d == noDay {
		return time.Time{}
	}
	return time.Unix(d*86400, 0).UTC()
}

// dateMsg is a day on the wire (nil for the zero time).
func dateMsg(t time.Time) *v1.Date {
	if t.IsZero() {
		return nil
	}
	return &v1.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// areaTOPSchedule is the caller's area's TOP schedule.
func (s *Service) areaTOPSchedule(ctx context.Context, id *identity.Identity) (topschedule.Schedule, *v1.TOPSchedule, error) {
	var sched topschedule.Schedule
	var own bool
	err := s.view(ctx, func(tx store.DirTx) error {
		a, err := tx.Area(id.Area)
		if errors.Is(err, store.ErrNotFound) {
			a, err = &store.Area{}, nil // the default
		}
		if err != nil {
			return err
		}
		sched, own = a.TOPSchedule()
		return nil
	})
	return sched, &v1.TOPSchedule{IntervalMonths: uint32(sched.IntervalMonths), WindowDays: uint32(sched.WindowDays), Own: own}, err
}

var topStates = map[topschedule.State]v1.TOPState{
	topschedule.NotYet: v1.TOPState_TOP_STATE_NOT_YET, topschedule.Due: v1.TOPState_TOP_STATE_DUE, topschedule.Overdue: v1.TOPState_TOP_STATE_OVERDUE,
}

// nextTOPMsg is a client's next TOP on the wire (nil: none needed).
func nextTOPMsg(n topschedule.Next) *v1.NextTOP {
	if n.Stage == "" {
		return nil
	}
	return &v1.NextTOP{Stage: n.Stage, Due: dateMsg(n.On), WindowFrom: dateMsg(n.From), WindowTo: dateMsg(n.To), State: topStates[n.State]}
}

// ListTOPIssues is the TOP data-quality list: the clients in reach (of
// one team if team_id is set), not closed or deleted, with an issue by
// topschedule.Schedule.Issues under the area's schedule on the service's
// day, by name. The view is audited like GetCaseload, naming the clients
// listed.
func (s *Service) ListTOPIssues(ctx context.Context, id *identity.Identity, req *v1.ListTOPIssuesRequest) (*v1.ListTOPIssuesResponse, error) {
	if req.GetTeamId() != "" && !schema.ValidID(req.GetTeamId()) {
		return nil, invalid("team_id must be a lower-case UUID")
	}
	sc, err := s.resolveScope(ctx, id, access.ViewCaseload, req.GetTeamId(), true)
	if err != nil {
		return nil, err
	}
	sched, msg, err := s.areaTOPSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	sums, err := s.caseSummaries(ctx, sc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	resp := &v1.ListTOPIssuesResponse{TopSchedule: msg}
	var lines []*caseLine
	type found struct {
		issues  []topschedule.Issue
		started time.Time
	}
	byClient := map[string]found{}
	for i, c := range sc.clients {
		if c.deleted || c.closed {
			continue
		}
		resp.Checked++
		if is := sched.Issues(sums[i].top, now); len(is) > 0 {
			byClient[c.id] = found{is, sums[i].top.TreatmentStart}
			lines = append(lines, &caseLine{c: c, out: &v1.CaseloadClient{ClientId: c.id, ClientName: c.name, TeamId: c.team}})
		}
	}
	if err := s.dressCaseload(ctx, sc, lines); err != nil {
		return nil, err
	}
	sortCaseload(lines, v1.CaseloadSort_CASELOAD_SORT_NAME, false)
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.c.id
		f := byClient[l.c.id]
		out := &v1.TOPIssueClient{ClientId: l.c.id, ClientName: l.c.name, TeamId: l.c.team, TeamName: l.out.TeamName,
			Workers: l.out.Workers, TreatmentStarted: dateMsg(f.started)}
		for _, is := range f.issues {
			out.Issues = append(out.Issues, &v1.TOPIssue{Kind: v1.TOPIssueKind(is.Kind), Day: dateMsg(is.Day)})
		}
		resp.Clients = append(resp.Clients, out)
	}
	if err := s.auditView(ctx, id, store.AuditViewContacts, ids, req.GetTeamId(), len(ids)); err != nil {
		return nil, err
	}
	return resp, nil
}
