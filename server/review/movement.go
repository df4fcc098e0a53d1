package review

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topchange"
)

// MovementDefinition says how GetOutcomeMovement counts, for the page and
// the CSV.
const MovementDefinition = "Clients whose latest TOP since their start TOP was taken in the period, start compared with that TOP " +
	"(package topchange). Each figure counts, of the clients it is about (the base: e.g. using opiates at start), those who moved " +
	"as it says; a client who did not answer the item at start or at review is left out of that figure's base (not_answered)."

// measure is the rule of one outcome figure.
type measure struct {
	name, item string
	index      int
	// inBase reports whether a client with this start score is one the
	// figure is about; moved whether their review score counts.
	inBase func(start int) bool
	moved  func(start, review int) bool
}

func using(start int) bool         { return start > 0 }
func everyone(int) bool            { return true }
func none(_, review int) bool      { return review == 0 }
func fewer(start, review int) bool { return review < start }
func more(start, review int) bool  { return review > start }
func topIndex(name string) int {
	for i, it := range schema.TOPItems {
		if it.Name == name {
			return i
		}
	}
	panic("review: no TOP item " + name)
}

// measures are the figures, in the response's order: abstinence from
// opiates and crack, reduced use of every substance, injecting stopped,
// fewer crime days, acute housing problems resolved, more days in paid
// work.
var measures = func() []measure {
	m := func(name, item string, in func(int) bool, moved func(int, int) bool) measure {
		return measure{name, item, topIndex(item), in, moved}
	}
	out := []measure{m("abstinent", "opiates", using, none), m("abstinent", "crack", using, none)}
	for _, it := range schema.TOPItems {
		if it.Section == "substance_use" {
			out = append(out, m("reduced", it.Name, using, fewer))
		}
	}
	return append(out,
		m("stopped", "injecting", using, none),
		m("reduced", "shoplifting", using, fewer), m("reduced", "drug_selling", using, fewer), m("reduced", "assault", using, fewer),
		m("resolved", "acute_housing_problem", using, none),
		m("increased", "paid_work", everyone, more))
}()

// tallyMovement counts the figures over the cohort's changes (one
// topchange.Compare per client).
func tallyMovement(cohort [][]topchange.ItemChange) []*v1.OutcomeFigure {
	out := make([]*v1.OutcomeFigure, len(measures))
	for i, m := range measures {
		f := &v1.OutcomeFigure{Measure: m.name, Item: m.item}
		for _, ch := range cohort {
			c := ch[m.index]
			switch {
			case !c.Start.Answered || !c.Latest.Answered:
				f.NotAnswered++
			case m.inBase(c.Start.Value):
				f.Base++
				f.StartTotal += uint32(c.Start.Value)
				f.ReviewTotal += uint32(c.Latest.Value)
				if m.moved(c.Start.Value, c.Latest.Value) {
					f.Clients++
				}
			}
		}
		out[i] = f
	}
	return out
}

// movementPeriod validates a period (defaults as the statistics') and team.
func (s *Service) movementPeriod(from, to time.Time, teamID string) (topchange.Period, error) {
	from, to, err := s.period(from, to)
	if err != nil {
		return topchange.Period{}, err
	}
	if to.Sub(from) > MaxPeriod {
		return topchange.Period{}, invalid("the period may be at most %d days", int(MaxPeriod/(24*time.Hour)))
	}
	if teamID != "" && !schema.ValidID(teamID) {
		return topchange.Period{}, invalid("team_id must be a lower-case UUID")
	}
	return topchange.Period{From: from, To: to}, nil
}

// GetOutcomeMovement gives the outcome movement of the clients in reach
// (of one team if team_id is set: NotFound if out of reach) for the
// period (default: the DefaultPeriod up to now; at most MaxPeriod): the
// clients whose latest TOP since their start TOP (topchange.InPeriod) was
// taken in the period, and per measure the clients behind the figure.
// Deleted clients and TOPs are left out. The view is audited.
func (s *Service) GetOutcomeMovement(ctx context.Context, id *identity.Identity, req *v1.GetOutcomeMovementRequest) (*v1.GetOutcomeMovementResponse, error) {
	from, err := requestTime("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	to, err := requestTime("to", req.GetTo())
	if err != nil {
		return nil, err
	}
	p, err := s.movementPeriod(from, to, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	sc, err := s.resolve(ctx, id, access.ReadStatistics, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	resp, err := s.outcomeMovement(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	if err := s.auditView(ctx, id, store.AuditViewOutcomeMovement, nil, req.GetTeamId(), int(resp.GetCompared())); err != nil {
		return nil, err
	}
	return resp, nil
}

// requestTime is a request's time (zero if unset).
func requestTime(name string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, invalid("%s is not a valid time", name)
	}
	return ts.AsTime(), nil
}

// outcomeMovement reads every client's TOPs in reach and tallies them.
func (s *Service) outcomeMovement(ctx context.Context, sc *scope, p topchange.Period) (*v1.GetOutcomeMovementResponse, error) {
	resp := &v1.GetOutcomeMovementResponse{Definition: MovementDefinition}
	var cohort [][]topchange.ItemChange
	var r rec
	var tops []topchange.TOP
	for _, c := range sc.clients {
		tops = tops[:0]
		deleted := false
		err := s.st.ScanRecords(ctx, []string{c.id}, func(_ string, b []byte) error {
			if err := r.parse(b); err != nil {
				return fmt.Errorf("review: a stored record does not decode: %w", err)
			}
			switch string(r.typ) {
			case "client":
				deleted = deleted || string(r.id) == c.id && r.get(schema.DeletedField) != nil
			case "outcome_review":
				st := &v1.RecordState{}
				if err := proto.Unmarshal(b, st); err != nil {
					return fmt.Errorf("review: a stored record does not decode: %w", err)
				}
				if t, live := topchange.FromState(st); live {
					tops = append(tops, t)
				}
			}
			return nil
		})
		if err != nil {
			return nil, storeErr(err)
		}
		if deleted {
			continue
		}
		resp.Clients++
		if start, latest, ok := topchange.InPeriod(tops, p); ok {
			cohort = append(cohort, topchange.Compare(tops[start], tops[latest]))
		}
	}
	resp.Compared = uint32(len(cohort))
	resp.Figures = tallyMovement(cohort)
	return resp, nil
}

// OutcomeMovementColumns are the columns of the outcome-movement export,
// named as in the statistics export: a totals row (clients in reach,
// compared: the cohort, the definition), then a row per figure.
var OutcomeMovementColumns = []string{
	"section", "measure", "item", "clients", "base", "not_answered", "start_total", "review_total", "compared", "definition",
}

// ExportOutcomeMovement computes GetOutcomeMovement for the query (its
// From, To and TeamID) and hands it to the sink as rows
// (OutcomeMovementColumns). The export is audited like the statistics
// export and stops before the next row like it. It returns the rows
// handed to the sink.
func (s *Service) ExportOutcomeMovement(ctx context.Context, id *identity.Identity, q ExportQuery, sink Sink) (int, error) {
	p, err := s.movementPeriod(q.From, q.To, q.TeamID)
	if err != nil {
		return 0, err
	}
	e, sc, _, _, err := s.beginExport(ctx, id, store.AuditExportOutcomeMovement, q, false)
	if err != nil {
		return 0, err
	}
	rows, err := func() (int, error) {
		m, err := s.outcomeMovement(ctx, sc, p)
		if err != nil {
			return 0, err
		}
		return writeRows(ctx, id, sink, movementRows(m))
	}()
	e.finish(ctx, rows, err)
	return rows, err
}

func movementRows(m *v1.GetOutcomeMovementResponse) [][]string {
	n := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	out := [][]string{{"totals", "", "", n(m.GetClients()), "", "", "", "", n(m.GetCompared()), m.GetDefinition()}}
	for _, f := range m.GetFigures() {
		out = append(out, []string{"figure", f.GetMeasure(), f.GetItem(), n(f.GetClients()), n(f.GetBase()), n(f.GetNotAnswered()),
			n(f.GetStartTotal()), n(f.GetReviewTotal()), "", ""})
	}
	return out
}
