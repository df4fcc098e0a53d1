package review

import (
	"cmp"
	"context"
	"slices"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// AttendanceDefinition is the one definition of the attendance rate: the
// statistics RPC returns it, the console shows it beside the rate and the
// statistics CSV repeats it. AttendanceRate computes it.
const AttendanceDefinition = "Attendance rate = attended ÷ (attended + did not attend), " +
	"over appointments that started in the period. Cancellations (by the client or by the service), " +
	"reschedules and appointments still booked are shown but not counted in the rate."

// AttendanceRate is the attendance rate of AttendanceDefinition in whole
// per cent, rounded half up, and what it is out of (attended + did not
// attend); 0, 0 when there is nothing to count.
func AttendanceRate(attended, didNotAttend uint32) (percent, base uint32) {
	b := uint64(attended) + uint64(didNotAttend)
	if b == 0 {
		return 0, 0
	}
	return uint32((200*uint64(attended) + b) / (2 * b)), uint32(min(b, 1<<32-1))
}

// apptTally counts appointments of one group by outcome.
type apptTally struct {
	attended, dna, byClient, byService, rescheduled, booked uint32
	reasons                                                 map[string]uint32
}

func (t *apptTally) add(a *appointment) {
	switch a.status {
	case apptAttended:
		t.attended++
	case apptDNA:
		t.dna++
		if t.reasons == nil {
			t.reasons = map[string]uint32{}
		}
		t.reasons[a.reason]++
	case apptCancelledByClient:
		t.byClient++
	case apptCancelledByService:
		t.byService++
	case apptRescheduled:
		t.rescheduled++
	case apptBooked:
		t.booked++
	}
}

func (t *apptTally) proto(group string) *v1.AppointmentAttendance {
	out := &v1.AppointmentAttendance{Group: group, Attended: t.attended, DidNotAttend: t.dna,
		CancelledByClient: t.byClient, CancelledByService: t.byService, Rescheduled: t.rescheduled, Booked: t.booked}
	out.AttendanceRatePercent, out.RateBase = AttendanceRate(t.attended, t.dna)
	for r, n := range t.reasons {
		out.DnaReasons = append(out.DnaReasons, &v1.ReasonCount{Reason: r, Count: n})
	}
	slices.SortFunc(out.DnaReasons, func(a, b *v1.ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

// apptStats gathers the appointments of a period per group.
type apptStats struct {
	all                   apptTally
	workers, teams, types map[string]*apptTally
}

func newApptStats() *apptStats {
	return &apptStats{workers: map[string]*apptTally{}, teams: map[string]*apptTally{}, types: map[string]*apptTally{}}
}

func tallyOf(m map[string]*apptTally, key string) *apptTally {
	t := m[key]
	if t == nil {
		t = &apptTally{}
		m[key] = t
	}
	return t
}

func (s *apptStats) add(a *appointment, team string) {
	s.all.add(a)
	tallyOf(s.workers, a.author).add(a)
	tallyOf(s.teams, team).add(a)
	tallyOf(s.types, a.typ).add(a)
}

// rows returns the groups as GetStatisticsResponse.appointments orders
// them, naming workers and teams in area.
func (svc *Service) apptRows(ctx context.Context, area string, s *apptStats) ([]*v1.AppointmentAttendance, error) {
	ids := map[string]bool{}
	for w := range s.workers {
		ids[w] = true
	}
	names, err := svc.names(ctx, area, ids)
	if err != nil {
		return nil, err
	}
	ids = map[string]bool{}
	for t := range s.teams {
		ids[t] = true
	}
	teamNames, err := svc.teamNames(ctx, area, ids)
	if err != nil {
		return nil, err
	}
	out := []*v1.AppointmentAttendance{s.all.proto("all")}
	byName := func(a, b *v1.AppointmentAttendance) int {
		an, bn := a.WorkerName+a.TeamName+a.AppointmentType, b.WorkerName+b.TeamName+b.AppointmentType
		return cmp.Or(strings.Compare(strings.ToLower(an), strings.ToLower(bn)), strings.Compare(a.WorkerId+a.TeamId, b.WorkerId+b.TeamId))
	}
	var part []*v1.AppointmentAttendance
	for w, t := range s.workers {
		r := t.proto("worker")
		r.WorkerId, r.WorkerName = w, names[w]
		part = append(part, r)
	}
	slices.SortFunc(part, byName)
	out = append(out, part...)
	part = part[:0]
	for id, t := range s.teams {
		r := t.proto("team")
		r.TeamId, r.TeamName = id, teamNames[id]
		part = append(part, r)
	}
	slices.SortFunc(part, byName)
	out = append(out, part...)
	part = part[:0]
	for typ, t := range s.types {
		r := t.proto("appointment_type")
		r.AppointmentType = typ
		part = append(part, r)
	}
	slices.SortFunc(part, byName)
	return append(out, part...), nil
}
