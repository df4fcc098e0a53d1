package review

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// MaxCommentLen bounds each comment of an order report.
const MaxCommentLen = 10_000

// maxReportDays is the longest order report period, in days.
const maxReportDays = 3 * 366

// GetOrderReport is the review report of a client's court order for a
// period of service days (see v1.GetOrderReportRequest): the period's
// appointments and their attendance (AttendanceDefinition), its drug tests,
// the TOP change from start up to the period's end, and the comments given.
// Staff reach the clients in their reach, workers the clients they are
// assigned now (access.OrderReportClient); anything else, and an order that
// is not the client's, is NotFound. Every report leaves one audit entry
// (view_order_report: the client, the order as its record, the period and
// how many records the report included).
func (s *Service) GetOrderReport(ctx context.Context, id *identity.Identity, req *v1.GetOrderReportRequest) (*v1.GetOrderReportResponse, error) {
	if err := access.Allow(id, access.ReadOrderReports); err != nil {
		return nil, err
	}
	p, err := reportPeriod(req)
	if err != nil {
		return nil, err
	}
	err = s.view(ctx, func(tx store.DirTx) error {
		r, err := access.Resolve(tx, id, access.ReadOrderReports)
		if err != nil {
			return err
		}
		_, err = access.OrderReportClient(tx, r, id, req.GetClientId())
		return err
	})
	if err != nil {
		return nil, err
	}
	var recs []*v1.RecordState
	err = s.st.ScanRecords(ctx, []string{req.GetClientId()}, func(_ string, b []byte) error {
		st := &v1.RecordState{}
		if err := proto.Unmarshal(b, st); err != nil {
			return err
		}
		recs = append(recs, st)
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	resp, included, err := buildOrderReport(recs, req.GetClientId(), req.GetOrderId(), p)
	if err != nil {
		return nil, err
	}
	resp.KeyworkerComment, resp.ProviderComment = req.GetKeyworkerComment(), req.GetProviderComment()
	if req.GetHtml() {
		if resp.Html, err = renderOrderReport(resp); err != nil {
			return nil, err
		}
	}
	a := audit.Entry(ctx, id, store.AuditViewOrderReport, s.now())
	a.ClientIDs, a.RecordID, a.Count = []string{req.GetClientId()}, req.GetOrderId(), uint64(included)
	// The period, from the first service day's start to the end of the
	// last: with the order and the client it names exactly the records the
	// report included, as history held them at the entry's time.
	a.From, a.To = p.start(), p.end()
	if err := storeErr(s.st.Directory(ctx, func(tx store.DirTx) error { return tx.AppendAudit(a) })); err != nil {
		return nil, err
	}
	s.log.Debug().Str("user_id", id.UserID).Str("client_id", req.GetClientId()).Str("order_id", req.GetOrderId()).
		Int("records", included).Msg("order report")
	return resp, nil
}

// period is an order report's period: service days (caseday.Number), both
// ends included.
type period struct {
	from, to   int64
	fromD, toD *v1.Date
}

// start is the instant the period's first service day begins.
func (p period) start() time.Time {
	return time.Date(int(p.fromD.GetYear()), time.Month(p.fromD.GetMonth()), int(p.fromD.GetDay()), 0, 0, 0, 0, caseday.Zone)
}

// end is the instant the period's last service day ends.
func (p period) end() time.Time {
	return time.Date(int(p.toD.GetYear()), time.Month(p.toD.GetMonth()), int(p.toD.GetDay())+1, 0, 0, 0, 0, caseday.Zone)
}

// contains reports whether an instant's service day is in the period.
func (p period) contains(t time.Time) bool {
	d := caseday.TodayNumber(t)
	return d >= p.from && d <= p.to
}

func dayNumber(d *v1.Date) int64 {
	return caseday.Number(int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay()))
}

// reportPeriod checks a request's period and comments.
func reportPeriod(req *v1.GetOrderReportRequest) (period, error) {
	switch {
	case !schema.ValidDate(req.GetFrom()):
		return period{}, invalid("from must be a calendar date")
	case !schema.ValidDate(req.GetTo()):
		return period{}, invalid("to must be a calendar date")
	}
	p := period{from: dayNumber(req.GetFrom()), to: dayNumber(req.GetTo()), fromD: req.GetFrom(), toD: req.GetTo()}
	switch {
	case p.to < p.from:
		return period{}, invalid("to must not be before from")
	case p.to-p.from >= maxReportDays:
		return period{}, invalid("the period may be at most %d days", maxReportDays)
	}
	for _, c := range []struct{ field, text string }{
		{"keyworker_comment", req.GetKeyworkerComment()}, {"provider_comment", req.GetProviderComment()},
	} {
		if !utf8.ValidString(c.text) || utf8.RuneCountInString(c.text) > MaxCommentLen {
			return period{}, invalid("%s must be valid text of at most %d characters", c.field, MaxCommentLen)
		}
	}
	return p, nil
}

var errOrderNF = errkind.E(errkind.NotFound, "order not found")

// buildOrderReport builds the report of an order from its client's
// records, and says how many records it included (the order, the
// period's appointments and tests, the TOPs compared).
func buildOrderReport(recs []*v1.RecordState, clientID, orderID string, p period) (*v1.GetOrderReportResponse, int, error) {
	resp := &v1.GetOrderReportResponse{From: p.fromD, To: p.toD, AttendanceDefinition: AttendanceDefinition}
	var tops []*v1.RecordState
	var tally apptTally
	for _, st := range recs {
		if merge.IsDeleted(st) {
			continue
		}
		switch st.GetRecordType() {
		case "client":
			if st.GetRecordId() == clientID {
				resp.ClientName = strings.TrimSpace(strField(st, "given_name") + " " + strField(st, "family_name"))
			}
		case "court_order":
			if st.GetRecordId() == orderID {
				resp.Order = st
			}
		case "appointment":
			if a := reportAppointment(st, orderID); p.contains(a.GetStartsAt().AsTime()) {
				resp.Appointments = append(resp.Appointments, a)
				tally.add(&appointment{status: a.GetStatus(), reason: a.GetDnaReason()})
			}
		case "contact":
			if t := reportTest(st); t != nil && p.contains(t.GetOccurredAt().AsTime()) {
				resp.DrugTests = append(resp.DrugTests, t)
			}
		case "outcome_review":
			tops = append(tops, st)
		}
	}
	if resp.Order == nil {
		return nil, 0, errOrderNF
	}
	slices.SortFunc(resp.Appointments, func(a, b *v1.ReportAppointment) int {
		return cmp.Or(a.GetStartsAt().AsTime().Compare(b.GetStartsAt().AsTime()), strings.Compare(a.GetAppointmentId(), b.GetAppointmentId()))
	})
	slices.SortFunc(resp.DrugTests, func(a, b *v1.ReportDrugTest) int {
		return cmp.Or(a.GetOccurredAt().AsTime().Compare(b.GetOccurredAt().AsTime()), strings.Compare(a.GetContactId(), b.GetContactId()))
	})
	resp.Attendance = tally.proto("all")
	compared := reportTOPChange(resp, tops, p.to)
	return resp, 1 + len(resp.Appointments) + len(resp.DrugTests) + compared, nil
}

func strField(st *v1.RecordState, name string) string {
	return merge.Field(st, name).GetValue().GetStringValue()
}

func reportAppointment(st *v1.RecordState, orderID string) *v1.ReportAppointment {
	typ := strField(st, "appointment_type")
	return &v1.ReportAppointment{
		AppointmentId: st.GetRecordId(), AppointmentType: typ,
		StartsAt: merge.Field(st, "starts_at").GetValue().GetTimestampValue(),
		Status:   strField(st, "status"), DnaReason: strField(st, "dna_reason"),
		HearingOfOrder: typ == schema.ReviewHearingType && strField(st, "order_id") == orderID,
	}
}

// reportTest reads a drug test contact, or nil for another contact.
func reportTest(st *v1.RecordState) *v1.ReportDrugTest {
	if strField(st, "category") != "drug_test" {
		return nil
	}
	subs := merge.SetMembers(merge.Field(st, "substances").GetValue().GetSetState())
	slices.Sort(subs)
	return &v1.ReportDrugTest{ContactId: st.GetRecordId(), OccurredAt: merge.Field(st, "occurred_at").GetValue().GetTimestampValue(),
		TestResult: strField(st, "test_result"), Substances: subs}
}
