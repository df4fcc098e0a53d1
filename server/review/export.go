package review

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// ExportQuery chooses what an export covers.
type ExportQuery struct {
	// From and To bound the period: contacts that happened at or after From
	// and before To (defaults: To now, From DefaultPeriod before To).
	From, To time.Time
	// TeamID, if set, keeps one team's clients (NotFound if out of reach).
	TeamID string
	// QuietDays is the statistics' no_contact_days (0: DefaultQuietDays).
	QuietDays int
}

// ContactColumns are the columns of the contacts export, one row per
// contact.
var ContactColumns = []string{
	"contact_id", "client_id", "client_name", "team_id", "occurred_at", "category", "mode",
	"author_id", "author_name", "duration_minutes", "outcome", "notes", "attendance", "provider",
	"test_result", "substances", "housing_status_after", "ete_status_after", "follow_up_date",
	"review_state", "late", "open_conflicts", "deleted", "synced_at",
}

// StatisticsColumns are the columns of the statistics export. Each row
// belongs to one section (totals, consent_excluded, weekly, attendance, housing,
// employment, quiet, appointments, unbooked) and fills the columns that
// section has, as GetStatistics reports them. The attendance section is
// attendance recorded on treatment contacts (GetStatistics' attendance);
// the appointments section carries the attendance rate and, on its
// first row, AttendanceDefinition.
var StatisticsColumns = []string{
	"section", "week", "category", "team_id", "worker_id", "worker_name", "status_from", "status_to",
	"client_id", "client_name", "last_contact", "days", "contacts", "clients", "attended", "missed", "rescheduled",
	"group", "team_name", "appointment_type", "did_not_attend", "dna_reasons", "cancelled_by_client",
	"cancelled_by_service", "booked", "attendance_rate_percent", "rate_base", "definition",
}

// Sink receives an export's rows.
type Sink interface {
	// Row takes the next row; an error stops the export.
	Row(cells []string) error
	// Flush is called once after the last row (also when there were
	// none); the export is audited complete only if it succeeds.
	Flush() error
}

// RowFunc adapts a function to a Sink with nothing to flush.
type RowFunc func(cells []string) error

// Row calls f.
func (f RowFunc) Row(cells []string) error { return f(cells) }

// Flush does nothing.
func (RowFunc) Flush() error { return nil }

// export is an export under way and its audit entry.
type export struct {
	s     *Service
	id    *identity.Identity
	audit *store.Audit
}

// beginExport validates the query and the caller's reach and writes the
// audit entry, before any data leaves.
func (s *Service) beginExport(ctx context.Context, id *identity.Identity, action store.AuditAction, q ExportQuery, withQuiet bool) (*export, *scope, time.Time, time.Time, error) {
	from, to, err := s.period(q.From, q.To)
	if err != nil {
		return nil, nil, from, to, err
	}
	if q.TeamID != "" && !schema.ValidID(q.TeamID) {
		return nil, nil, from, to, invalid("team_id must be a lower-case UUID")
	}
	sc, err := s.resolve(ctx, id, access.Export, q.TeamID)
	if err != nil {
		return nil, nil, from, to, err
	}
	a := audit.Entry(ctx, id, action, s.now())
	a.TeamID, a.From, a.To = q.TeamID, from, to
	if err := storeErr(s.st.Directory(ctx, func(tx store.DirTx) error { return tx.AppendAudit(a) })); err != nil {
		return nil, nil, from, to, err
	}
	return &export{s: s, id: id, audit: a}, sc, from, to, nil
}

// auditView records that the caller was shown clients' data (DESIGN §5:
// every view of a client's data leaves an audit entry): which clients, the
// team if one was asked for, and how many rows. The view is not served if
// its entry cannot be written.
func (s *Service) auditView(ctx context.Context, id *identity.Identity, action store.AuditAction, clients []string, teamID string, rows int) error {
	a := audit.Entry(ctx, id, action, s.now())
	a.ClientIDs, a.TeamID, a.Count = clients, teamID, uint64(rows)
	return storeErr(s.st.Directory(ctx, func(tx store.DirTx) error { return tx.AppendAudit(a) }))
}

// finish appends the export's closing entry, with the rows that left
// (complete, or cut off after them), and logs the export (ids and counts
// only). The export's first entry stays as it was: entries are never
// changed.
func (e *export) finish(ctx context.Context, rows int, err error) {
	action := store.AuditExportComplete
	if err != nil {
		action = store.AuditExportIncomplete
	}
	end := audit.Entry(ctx, e.id, action, e.s.now())
	end.TeamID, end.Count, end.RecordID = e.audit.TeamID, uint64(rows), e.audit.Action.String()
	werr := e.s.st.Directory(context.WithoutCancel(ctx), func(tx store.DirTx) error { return tx.AppendAudit(end) })
	ev := e.s.log.Info()
	if err != nil || werr != nil {
		ev = e.s.log.Warn()
	}
	if werr != nil {
		ev = ev.AnErr("audit_error", werr)
	}
	ev.Str("user_id", e.id.UserID).Str("kind", e.audit.Action.String()).
		Str("team_id", e.audit.TeamID).Int("rows", rows).Bool("complete", err == nil).Msg("export")
}

// stillWanted says why an export must stop before its next client or row:
// the caller's session ended or caseload changed (identity.Err), or the
// request is gone; nil to go on.
func stillWanted(ctx context.Context, id *identity.Identity) error {
	if err := id.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

// ExportContacts hands the contacts in reach that happened in the period
// to the sink, one row (ContactColumns) at a time: client by client (in id
// order), each client's by occurred_at, leaving out clients whose consent
// to national monitoring is withdrawn (consent.go). Only one client's contacts are
// held at once. Errors about the request come before the first row; the
// export is audited (see the package doc). It stops before the next client
// or row once the caller's session ends, their caseload changes or ctx
// ends (see stillWanted). It returns the rows handed to the sink.
func (s *Service) ExportContacts(ctx context.Context, id *identity.Identity, q ExportQuery, sink Sink) (int, error) {
	e, sc, from, to, err := s.beginExport(ctx, id, store.AuditExportContacts, q, false)
	if err != nil {
		return 0, err
	}
	rows := 0
	err = s.exportContacts(ctx, sc, from, to, func(row []string) error {
		if err := stillWanted(ctx, id); err != nil {
			return err
		}
		if err := sink.Row(row); err != nil {
			return err
		}
		rows++
		return nil
	})
	if err == nil {
		err = sink.Flush()
	}
	e.finish(ctx, rows, err)
	return rows, err
}

func (s *Service) exportContacts(ctx context.Context, sc *scope, from, to time.Time, emit func([]string) error) error {
	q := &contactQuery{from: instantOf(from), to: instantOf(to), hasFrom: true, hasTo: true, includeDeleted: true, needLate: true, consented: true}
	names := map[string]string{}
	var refs []contactRef
	for _, c := range sc.clients {
		if err := stillWanted(ctx, sc.id); err != nil {
			return err
		}
		refs = refs[:0]
		err := s.eachContact(ctx, &scope{id: sc.id, clients: []*client{c}}, q, func(r contactRef) error {
			refs = append(refs, r)
			return nil
		})
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			continue
		}
		slices.SortFunc(refs, func(a, b contactRef) int {
			if b.key().before(a.key()) {
				return -1
			}
			if a.key().before(b.key()) {
				return 1
			}
			return 0
		})
		ids := make([]string, len(refs))
		missing := map[string]bool{}
		for i, r := range refs {
			ids[i] = r.id.String()
			if _, ok := names[r.author]; !ok {
				missing[r.author] = true
			}
		}
		if len(missing) > 0 {
			found, err := s.names(ctx, sc.id.Area, missing)
			if err != nil {
				return err
			}
			for uid := range missing {
				names[uid] = found[uid]
			}
		}
		states, err := s.st.Records(ctx, c.id, ids)
		if err != nil {
			return storeErr(err)
		}
		positions := make([]uint64, 0, len(states))
		for _, st := range states {
			positions = append(positions, st.GetPosition())
		}
		entries, err := s.st.LogEntries(ctx, c.id, positions)
		if err != nil {
			return storeErr(err)
		}
		for i, r := range refs {
			st := states[ids[i]]
			if st == nil {
				continue
			}
			var synced string
			if e := entries[st.GetPosition()]; e != nil {
				synced = formatTime(e.GetReceivedAt().AsTime())
			}
			if err := emit(contactRow(st, c, r, names[r.author], synced)); err != nil {
				return err
			}
		}
	}
	return nil
}

// contactRow renders a contact (an expanded state) as ContactColumns.
func contactRow(st *v1.RecordState, c *client, r contactRef, authorName, synced string) []string {
	text := func(name string) string { return merge.Field(st, name).GetValue().GetStringValue() }
	row := []string{
		st.GetRecordId(), c.id, c.name, c.team, "", text("category"), text("mode"),
		r.author, authorName, "", text("outcome"), text("notes"), text("attendance"), text("provider"),
		text("test_result"), "", text("housing_status_after"), text("ete_status_after"), "",
		stateWord(r.state), strconv.FormatBool(r.late), strconv.Itoa(len(st.GetConflicts())),
		strconv.FormatBool(merge.IsDeleted(st)), synced,
	}
	if ts := merge.Field(st, "occurred_at").GetValue().GetTimestampValue(); ts != nil {
		row[4] = formatTime(ts.AsTime())
	}
	if f := merge.Field(st, "duration_minutes"); f != nil {
		row[9] = strconv.FormatInt(f.GetValue().GetIntegerValue(), 10)
	}
	if f := merge.Field(st, "substances"); f != nil {
		row[15] = strings.Join(merge.SetMembers(f.GetValue().GetSetState()), ";")
	}
	if d := merge.Field(st, "follow_up_date").GetValue().GetDateValue(); d != nil {
		row[18] = formatDate(d)
	}
	return row
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func formatDate(d *v1.Date) string {
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// stateWord names a review state in exports: unreviewed, reviewed,
// query_open, query_answered, resolved.
func stateWord(s v1.ReviewState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "REVIEW_STATE_"))
}

// ExportStatistics computes GetStatistics for the query and hands it to
// the sink as rows (StatisticsColumns): the totals, then the weekly
// counts, attendance, housing and employment movements and quiet clients,
// in GetStatistics' order. The export is audited (see the package doc). It
// stops before the next row like ExportContacts. It returns the rows handed
// to the sink.
func (s *Service) ExportStatistics(ctx context.Context, id *identity.Identity, q ExportQuery, sink Sink) (int, error) {
	if q.QuietDays == 0 {
		q.QuietDays = DefaultQuietDays
	}
	if q.QuietDays < 0 || q.QuietDays > MaxQuietDays {
		return 0, invalid("no_contact_days may be at most %d", MaxQuietDays)
	}
	from, to, err := s.period(q.From, q.To)
	if err != nil {
		return 0, err
	}
	if to.Sub(from) > MaxPeriod {
		return 0, invalid("the period may be at most %d days", int(MaxPeriod/(24*time.Hour)))
	}
	e, sc, from, to, err := s.beginExport(ctx, id, store.AuditExportStatistics, q, true)
	if err != nil {
		return 0, err
	}
	rows, err := func() (int, error) {
		st, err := s.statistics(ctx, sc, &statsQuery{from: from, to: to, teamID: q.TeamID, quietDays: q.QuietDays})
		if err != nil {
			return 0, err
		}
		return writeRows(ctx, id, sink, statisticsRows(st))
	}()
	e.finish(ctx, rows, err)
	return rows, err
}

// writeRows writes rows to sink, checking before each that the caller may
// still export, then flushes it; it returns how many rows it wrote.
func writeRows(ctx context.Context, id *identity.Identity, sink Sink, rows [][]string) (int, error) {
	n := 0
	for _, row := range rows {
		if err := stillWanted(ctx, id); err != nil {
			return n, err
		}
		if err := sink.Row(row); err != nil {
			return n, err
		}
		n++
	}
	return n, sink.Flush()
}

// The statistics columns by index (StatisticsColumns).
const (
	scWeek = 1 + iota
	scCategory
	scTeam
	scWorker
	scWorkerName
	scStatusFrom
	scStatusTo
	scClientID
	scClientName
	scLastContact
	scDays
	scContacts
	scClients
	scAttended
	scMissed
	scRescheduled
	scGroup
	scTeamName
	scApptType
	scDNA
	scDNAReasons
	scByClient
	scByService
	scBooked
	scRate
	scRateBase
	scDefinition
)

// statRow is one statistics row of section, with cells by column index.
func statRow(section string, cells map[int]string) []string {
	r := make([]string, len(StatisticsColumns))
	r[0] = section
	for i, v := range cells {
		r[i] = v
	}
	return r
}

// cell is a count as a cell.
func cell(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// statisticsRows renders statistics as StatisticsColumns rows, a section
// at a time.
func statisticsRows(st *v1.GetStatisticsResponse) [][]string {
	out := [][]string{statRow("totals", map[int]string{scContacts: cell(st.GetContacts()), scClients: cell(st.GetClients())}),
		statRow("consent_excluded", map[int]string{scClients: cell(st.GetConsentExcluded())})}
	for _, w := range st.GetWeekly() {
		out = append(out, statRow("weekly", map[int]string{scWeek: formatDate(w.GetWeek()), scCategory: w.GetCategory(),
			scContacts: cell(w.GetContacts()), scClients: cell(w.GetClients())}))
	}
	for _, a := range st.GetAttendance() {
		out = append(out, statRow("attendance", map[int]string{scTeam: a.GetTeamId(), scWorker: a.GetWorkerId(), scWorkerName: a.GetWorkerName(),
			scAttended: cell(a.GetAttended()), scMissed: cell(a.GetMissed()), scRescheduled: cell(a.GetRescheduled())}))
	}
	for _, sec := range []struct {
		name string
		ms   []*v1.Movement
	}{{"housing", st.GetHousing()}, {"employment", st.GetEmployment()}} {
		for _, m := range sec.ms {
			out = append(out, statRow(sec.name, map[int]string{scStatusFrom: m.GetFrom(), scStatusTo: m.GetTo(), scClients: cell(m.GetClients())}))
		}
	}
	for _, qc := range st.GetQuiet() {
		out = append(out, quietRow("quiet", qc))
	}
	for i, a := range st.GetAppointments() {
		out = append(out, appointmentRow(a, i == 0, st.GetAttendanceDefinition()))
	}
	for _, qc := range st.GetUnbooked() {
		out = append(out, quietRow("unbooked", qc))
	}
	return out
}

// quietRow is a client of the quiet or unbooked sections.
func quietRow(section string, qc *v1.QuietClient) []string {
	last := ""
	if qc.GetLastContact() != nil {
		last = formatTime(qc.GetLastContact().AsTime())
	}
	return statRow(section, map[int]string{scClientID: qc.GetClientId(), scClientName: qc.GetClientName(), scLastContact: last, scDays: cell(qc.GetDays())})
}

// appointmentRow is a row of the appointments section: the rate only with
// a base, the attendance definition on the first row.
func appointmentRow(a *v1.AppointmentAttendance, first bool, definition string) []string {
	reasons := make([]string, 0, len(a.GetDnaReasons()))
	for _, r := range a.GetDnaReasons() {
		reasons = append(reasons, cmp.Or(r.GetReason(), "none_given")+"="+cell(r.GetCount()))
	}
	cells := map[int]string{scGroup: a.GetGroup(), scTeam: a.GetTeamId(), scTeamName: a.GetTeamName(), scWorker: a.GetWorkerId(),
		scWorkerName: a.GetWorkerName(), scApptType: a.GetAppointmentType(), scAttended: cell(a.GetAttended()), scDNA: cell(a.GetDidNotAttend()),
		scDNAReasons: strings.Join(reasons, ";"), scByClient: cell(a.GetCancelledByClient()), scByService: cell(a.GetCancelledByService()),
		scRescheduled: cell(a.GetRescheduled()), scBooked: cell(a.GetBooked()), scRateBase: cell(a.GetRateBase())}
	if a.GetRateBase() > 0 {
		cells[scRate] = cell(a.GetAttendanceRatePercent())
	}
	if first {
		cells[scDefinition] = definition
	}
	return statRow("appointments", cells)
}
