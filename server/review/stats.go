package review

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// statsQuery is a validated GetStatisticsRequest.
type statsQuery struct {
	from, to  time.Time
	teamID    string
	quietDays int
}

func (s *Service) newStatsQuery(req *v1.GetStatisticsRequest) (*statsQuery, error) {
	var from, to time.Time
	if req.GetFrom() != nil {
		if err := req.GetFrom().CheckValid(); err != nil {
			return nil, invalid("from is not a valid time")
		}
		from = req.GetFrom().AsTime()
	}
	if req.GetTo() != nil {
		if err := req.GetTo().CheckValid(); err != nil {
			return nil, invalid("to is not a valid time")
		}
		to = req.GetTo().AsTime()
	}
	from, to, err := s.period(from, to)
	if err != nil {
		return nil, err
	}
	if to.Sub(from) > MaxPeriod {
		return nil, invalid("the period may be at most %d days", int(MaxPeriod/(24*time.Hour)))
	}
	if req.GetTeamId() != "" && !schema.ValidID(req.GetTeamId()) {
		return nil, invalid("team_id must be a lower-case UUID")
	}
	days := int(req.GetNoContactDays())
	switch {
	case days == 0:
		days = DefaultQuietDays
	case days > MaxQuietDays:
		return nil, invalid("no_contact_days may be at most %d", MaxQuietDays)
	}
	return &statsQuery{from: from, to: to, teamID: req.GetTeamId(), quietDays: days}, nil
}

// GetStatistics summarises the contacts in reach (of one team if team_id
// is set: NotFound if out of reach) that happened in the period (default:
// the DefaultPeriod up to now; at most MaxPeriod). Contacts marked deleted
// are not counted.
//
//   - weekly: contacts per week (starting Monday, UTC) and category, and
//     how many clients had one;
//   - attendance: treatment_attendance contacts by their attendance
//     (attended, did_not_attend = missed, rescheduled), per worker (the
//     contact's author) by name, then per team (the client's) by name;
//   - housing and employment: per client, the first and the last
//     housing_status_after (ete_status_after) recorded in the period, by
//     occurred_at; clients whose status moved are counted per from→to,
//     most clients first;
//   - quiet: open clients (not closed or deleted) with no contact in the
//     no_contact_days (default 14) before the period's end, longest first;
//     days count from their last contact, or from when they were added if
//     they never had one;
//   - contacts in the period, and clients in reach;
//   - consent_excluded: clients in reach left out of all of it, their
//     consent to national monitoring withdrawn (consent.go); clients
//     does not count them.
func (s *Service) GetStatistics(ctx context.Context, id *identity.Identity, req *v1.GetStatisticsRequest) (*v1.GetStatisticsResponse, error) {
	q, err := s.newStatsQuery(req)
	if err != nil {
		return nil, err
	}
	sc, err := s.resolve(ctx, id, access.ReadStatistics, q.teamID)
	if err != nil {
		return nil, err
	}
	resp, err := s.statistics(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	// The quiet-clients list names clients.
	if err := s.auditView(ctx, id, store.AuditViewStatistics, nil, q.teamID, len(resp.GetQuiet())); err != nil {
		return nil, err
	}
	return resp, nil
}

type weekKey struct {
	monday   int64 // days since the Unix epoch
	category string
}

// mondayOf returns the day (since the Unix epoch, UTC) of the Monday
// starting the week of t.
func mondayOf(t instant) int64 {
	days := floorDiv(t.sec, 86400)
	return days - ((days+3)%7+7)%7 // 1 January 1970 was a Thursday
}

func count(m map[string]*[3]uint32, key string, slot int) {
	n := m[key]
	if n == nil {
		n = &[3]uint32{}
		m[key] = n
	}
	n[slot]++
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// first reports whether a happened before b (ties: the earlier change).
func first(a, b *contact) bool {
	if c := a.at.compare(b.at); c != 0 {
		return c < 0
	}
	return a.position < b.position
}

var attendanceSlot = map[string]int{"attended": 0, "did_not_attend": 1, "rescheduled": 2}

// statistics computes GetStatistics' answer for the clients of sc: it
// reads each client's bucket once, leaves out those whose consent is
// withdrawn, tallies the rest (statsTally) and turns the tallies into the
// response (finishStatistics).
func (s *Service) statistics(ctx context.Context, sc *scope, q *statsQuery) (*v1.GetStatisticsResponse, error) {
	t := newStatsTally(q, len(sc.clients))
	rd := newReader(s.st)
	for _, c := range sc.clients {
		b, err := rd.read(ctx, c)
		if err != nil {
			return nil, err
		}
		if b.excluded(s.now()) {
			t.resp.ConsentExcluded++
			t.resp.Clients--
			continue
		}
		t.addClient(c, b)
	}
	return s.finishStatistics(ctx, sc, t)
}

// weekTally counts the contacts of one week and category, and the clients
// who had one.
type weekTally struct{ contacts, clients uint32 }

// statsTally accumulates the statistics of a period, one client at a time.
// resp holds the counts and lists kept as they are; the maps are turned
// into sorted lists at the end (finishStatistics).
type statsTally struct {
	from, to instant
	end      time.Time // the period's end (to), for the quiet days
	quietFor time.Duration
	weekly   map[weekKey]*weekTally
	seen     map[weekKey]bool // the current client's weeks and categories
	// workers and teams count attendance by attendanceSlot.
	workers, teams      map[string]*[3]uint32
	housing, employment map[[2]string]uint32 // clients per from→to
	appts               *apptStats
	resp                *v1.GetStatisticsResponse
}

func newStatsTally(q *statsQuery, clients int) *statsTally {
	return &statsTally{
		from: instantOf(q.from), to: instantOf(q.to), end: q.to,
		quietFor: time.Duration(q.quietDays) * 24 * time.Hour,
		weekly:   map[weekKey]*weekTally{}, seen: map[weekKey]bool{},
		workers: map[string]*[3]uint32{}, teams: map[string]*[3]uint32{},
		housing: map[[2]string]uint32{}, employment: map[[2]string]uint32{},
		appts: newApptStats(),
		resp:  &v1.GetStatisticsResponse{Clients: uint32(clients), AttendanceDefinition: AttendanceDefinition},
	}
}

// addClient tallies one client's contacts and appointments, and lists an
// open client as quiet or unbooked (addQuiet).
func (t *statsTally) addClient(c *client, b *bucketData) {
	clear(t.seen)
	last := t.addContacts(c, b.contacts)
	booked := countAppointments(t.appts, b.appointments, c.team, t.from, t.to)
	if c.closed || c.deleted {
		return
	}
	t.addQuiet(c, last, booked)
}

// statusSpan is the first and the last (by occurred_at, then by change)
// of a client's contacts that recorded a status in the period.
type statusSpan struct{ first, last *contact }

func (sp *statusSpan) add(ct *contact) {
	if sp.first == nil || first(ct, sp.first) {
		sp.first = ct
	}
	if sp.last == nil || first(sp.last, ct) {
		sp.last = ct
	}
}

// addContacts tallies a client's live contacts in the period (countContact)
// and the client's housing and employment moves, and returns the client's
// last live contact before the period's end (nil: none).
func (t *statsTally) addContacts(c *client, contacts []contact) (last *contact) {
	var housing, ete statusSpan
	for i := range contacts {
		ct := &contacts[i]
		if ct.deleted {
			continue
		}
		if ct.at.compare(t.to) < 0 && (last == nil || ct.at.compare(last.at) > 0) {
			last = ct
		}
		if ct.at.compare(t.from) < 0 || ct.at.compare(t.to) >= 0 {
			continue
		}
		t.countContact(c, ct)
		if ct.housing != "" {
			housing.add(ct)
		}
		if ct.ete != "" {
			ete.add(ct)
		}
	}
	if housing.first != nil && housing.first.housing != housing.last.housing {
		t.housing[[2]string{housing.first.housing, housing.last.housing}]++
	}
	if ete.first != nil && ete.first.ete != ete.last.ete {
		t.employment[[2]string{ete.first.ete, ete.last.ete}]++
	}
	return last
}

// countContact counts a contact in the period: in total, in its week and
// category (its client once per week and category), and, if it records
// treatment attendance, for its author and its client's team.
func (t *statsTally) countContact(c *client, ct *contact) {
	t.resp.Contacts++
	k := weekKey{mondayOf(ct.at), ct.category}
	wt := t.weekly[k]
	if wt == nil {
		wt = &weekTally{}
		t.weekly[k] = wt
	}
	wt.contacts++
	if !t.seen[k] {
		t.seen[k] = true
		wt.clients++
	}
	if slot, ok := attendanceSlot[ct.attendance]; ok && ct.category == "treatment_attendance" {
		count(t.workers, ct.author, slot)
		count(t.teams, c.team, slot)
	}
}

// addQuiet lists an open client as quiet if their last contact before the
// period's end (last; nil: none, then from when they were added) is at
// least quietFor before it, and as unbooked unless booked. A client with
// no contact added after the period (or with no creation time) is neither.
func (t *statsTally) addQuiet(c *client, last *contact, booked bool) {
	since := c.created
	qc := &v1.QuietClient{ClientId: c.id, ClientName: c.name}
	if last != nil {
		since = last.at.time()
		qc.LastContact = timestamppb.New(since)
	} else if since.IsZero() || since.After(t.end) {
		return // not on the books yet (or added before creation times were kept)
	}
	gap := t.end.Sub(since)
	qc.Days = uint32(min(gap/(24*time.Hour), math.MaxUint32))
	if gap >= t.quietFor {
		t.resp.Quiet = append(t.resp.Quiet, qc)
	}
	if !booked {
		t.resp.Unbooked = append(t.resp.Unbooked, qc)
	}
}

// finishStatistics turns the tallies into the response's sorted lists:
// appointments, unbooked (by name), weekly (by week and category),
// attendance (workerAttendance, then teamAttendance), movements, and
// quiet (longest first).
func (s *Service) finishStatistics(ctx context.Context, sc *scope, t *statsTally) (*v1.GetStatisticsResponse, error) {
	resp := t.resp
	var err error
	if resp.Appointments, err = s.apptRows(ctx, sc.id.Area, t.appts); err != nil {
		return nil, err
	}
	slices.SortFunc(resp.Unbooked, func(a, b *v1.QuietClient) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.ClientName), strings.ToLower(b.ClientName)), strings.Compare(a.ClientId, b.ClientId))
	})
	resp.Weekly = weeklyCounts(t.weekly)
	byWorker, err := s.workerAttendance(ctx, sc.id.Area, t.workers)
	if err != nil {
		return nil, err
	}
	byTeam, err := s.teamAttendance(ctx, sc.id.Area, t.teams)
	if err != nil {
		return nil, err
	}
	resp.Attendance = append(byWorker, byTeam...)
	resp.Housing = movements(t.housing)
	resp.Employment = movements(t.employment)
	slices.SortFunc(resp.Quiet, func(a, b *v1.QuietClient) int {
		return cmp.Or(cmp.Compare(b.Days, a.Days), strings.Compare(a.ClientId, b.ClientId))
	})
	return resp, nil
}

// weeklyCounts lists the weekly tallies by week, then category.
func weeklyCounts(weekly map[weekKey]*weekTally) []*v1.WeeklyCount {
	var out []*v1.WeeklyCount
	for k, t := range weekly {
		d := time.Unix(k.monday*86400, 0).UTC()
		out = append(out, &v1.WeeklyCount{Week: &v1.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())},
			Category: k.category, Contacts: t.contacts, Clients: t.clients})
	}
	slices.SortFunc(out, func(a, b *v1.WeeklyCount) int {
		return cmp.Or(cmp.Compare(a.Week.Year, b.Week.Year), cmp.Compare(a.Week.Month, b.Week.Month),
			cmp.Compare(a.Week.Day, b.Week.Day), strings.Compare(a.Category, b.Category))
	})
	return out
}

// workerAttendance lists the attendance counts per worker, with their
// names, by name then id.
func (s *Service) workerAttendance(ctx context.Context, area string, workers map[string]*[3]uint32) ([]*v1.Attendance, error) {
	ids := map[string]bool{}
	for w := range workers {
		ids[w] = true
	}
	names, err := s.names(ctx, area, ids)
	if err != nil {
		return nil, err
	}
	var out []*v1.Attendance
	for w, n := range workers {
		out = append(out, &v1.Attendance{WorkerId: w, WorkerName: names[w], Attended: n[0], Missed: n[1], Rescheduled: n[2]})
	}
	slices.SortFunc(out, func(a, b *v1.Attendance) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.WorkerName), strings.ToLower(b.WorkerName)), strings.Compare(a.WorkerId, b.WorkerId))
	})
	return out, nil
}

// teamAttendance lists the attendance counts per team by the team's name
// (not returned), then id.
func (s *Service) teamAttendance(ctx context.Context, area string, teams map[string]*[3]uint32) ([]*v1.Attendance, error) {
	ids := map[string]bool{}
	for t := range teams {
		ids[t] = true
	}
	teamNames, err := s.teamNames(ctx, area, ids)
	if err != nil {
		return nil, err
	}
	var out []*v1.Attendance
	for t, n := range teams {
		out = append(out, &v1.Attendance{TeamId: t, Attended: n[0], Missed: n[1], Rescheduled: n[2]})
	}
	slices.SortFunc(out, func(a, b *v1.Attendance) int {
		return cmp.Or(strings.Compare(strings.ToLower(teamNames[a.TeamId]), strings.ToLower(teamNames[b.TeamId])), strings.Compare(a.TeamId, b.TeamId))
	})
	return out, nil
}

func movements(m map[[2]string]uint32) []*v1.Movement {
	out := make([]*v1.Movement, 0, len(m))
	for k, n := range m {
		out = append(out, &v1.Movement{From: k[0], To: k[1], Clients: n})
	}
	slices.SortFunc(out, func(a, b *v1.Movement) int {
		return cmp.Or(cmp.Compare(b.Clients, a.Clients), strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	return out
}

// countAppointments adds a client's live appointments that started in
// [from, to) to appts, and reports whether one is booked at or after to.
func countAppointments(appts *apptStats, list []appointment, team string, from, to instant) (booked bool) {
	for i := range list {
		a := &list[i]
		if a.deleted {
			continue
		}
		if a.status == apptBooked && a.at.compare(to) >= 0 {
			booked = true
		}
		if a.at.compare(from) >= 0 && a.at.compare(to) < 0 {
			appts.add(a, team)
		}
	}
	return booked
}
