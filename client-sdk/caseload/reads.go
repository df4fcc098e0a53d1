package caseload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Conflict is two concurrent edits of one field, kept for review. The
// visible value is the later one (every device shows the same); the other
// is not lost.
type Conflict struct {
	ID                 uint64
	ClientID, RecordID string
	RecordType, Field  string
	Current, Incoming  ConflictSide
	DetectedAt         time.Time
}

// ConflictSide is one of the two values.
type ConflictSide struct {
	// Value is the value as text (dates as 2006-01-02, times in RFC 3339).
	Value  string
	At     time.Time
	UserID string
}

// Timeline is everything the device holds about one client.
type Timeline struct {
	Client Client
	// Contacts, newest first.
	Contacts    []Contact
	Goals       []Goal
	Referrals   []Referral
	ReviewNotes []ReviewNote
	// Appointments, by start.
	Appointments []Appointment
	// OutcomeReviews (TOPs), oldest interview first.
	OutcomeReviews []OutcomeReview
	// Consents by scope then day given; RiskAssessments oldest first.
	Consents        []Consent
	RiskAssessments []RiskAssessment
	// Orders (court orders), the latest start first.
	Orders []Order
}

// Rejection is a change the server refused, kept so the user can see it and
// redo the work if it still matters.
type Rejection struct {
	// Seq identifies it (for Dismiss).
	Seq                uint64
	ClientID, RecordID string
	RecordType, Field  string
	// Reason is the server's category (e.g. "access_ended",
	// "forbidden_field"); Message says it for the user.
	Reason, Message string
	// MadeAt is when the change was made on the device.
	MadeAt time.Time
}

// read runs fn in a read transaction, or returns ErrClosed.
func (d *Device) read(fn func(txn *local.Txn) error) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	err := d.db.View(fn)
	if errors.Is(err, local.ErrClosed) {
		return ErrClosed
	}
	return err
}

func (d *Device) me() *v1.Author {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &v1.Author{UserId: d.session.GetUserId(), DeviceId: d.session.GetDeviceId()}
}

// record returns one record as the device shows it, or ErrNotFound.
func (d *Device) record(_ context.Context, clientID, recordID string) (*v1.RecordState, bool, error) {
	bucket, err := uid(clientID)
	if err != nil {
		return nil, false, err
	}
	record, err := uid(recordID)
	if err != nil {
		return nil, false, err
	}
	me := d.me()
	var (
		st      *v1.RecordState
		pending bool
	)
	err = d.read(func(txn *local.Txn) error {
		st, pending, err = d.view(txn, bucket, record, me)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if st == nil {
		return nil, false, fmt.Errorf("caseload: %w", ErrNotFound)
	}
	return st, pending, nil
}

// Client returns a client on the caseload.
func (d *Device) Client(ctx context.Context, clientID string) (Client, error) {
	st, pending, err := d.record(ctx, clientID, clientID)
	if err != nil {
		return Client{}, err
	}
	if st.GetRecordType() != "client" {
		return Client{}, fmt.Errorf("caseload: %w", ErrNotFound)
	}
	return toClient(st, pending), nil
}

// Clients returns every client the device holds, by family then given name.
func (d *Device) Clients(ctx context.Context) ([]Client, error) {
	var ids []string
	err := d.read(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pRecord}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Key()
			if string(k[1:17]) == string(k[17:33]) { // a client record: its id is its bucket
				ids = append(ids, uuidString(k[1:17]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(ids))
	for _, id := range ids {
		c, err := d.Client(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Client) int {
		return cmp.Or(strings.Compare(a.FamilyName, b.FamilyName), strings.Compare(a.GivenName, b.GivenName), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Timeline returns everything the device holds about a client.
func (d *Device) Timeline(_ context.Context, clientID string) (Timeline, error) {
	bucket, err := uid(clientID)
	if err != nil {
		return Timeline{}, err
	}
	me := d.me()
	var recs map[string]*localRecord
	err = d.read(func(txn *local.Txn) error {
		recs, err = d.bucketView(txn, bucket, me)
		return err
	})
	if err != nil {
		return Timeline{}, err
	}
	cr := recs[clientID]
	if cr == nil || cr.state.GetRecordType() != "client" {
		return Timeline{}, fmt.Errorf("caseload: %w", ErrNotFound)
	}
	tl := Timeline{Client: toClient(cr.state, cr.pending)}
	for _, r := range recs {
		switch r.state.GetRecordType() {
		case "contact":
			tl.Contacts = append(tl.Contacts, toContact(clientID, r))
		case "goal":
			tl.Goals = append(tl.Goals, toGoal(clientID, r))
		case "referral":
			tl.Referrals = append(tl.Referrals, toReferral(clientID, r))
		case "review_note":
			tl.ReviewNotes = append(tl.ReviewNotes, toReviewNote(clientID, r))
		case "appointment":
			tl.Appointments = append(tl.Appointments, toAppointment(clientID, r))
		case "outcome_review":
			tl.OutcomeReviews = append(tl.OutcomeReviews, toOutcomeReview(clientID, r))
		case "consent":
			tl.Consents = append(tl.Consents, toConsent(clientID, r))
		case "risk_assessment":
			tl.RiskAssessments = append(tl.RiskAssessments, toRiskAssessment(clientID, r))
		case "court_order":
			tl.Orders = append(tl.Orders, toOrder(clientID, r))
		}
	}
	slices.SortFunc(tl.Contacts, func(a, b Contact) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), strings.Compare(b.ID, a.ID))
	})
	slices.SortFunc(tl.Goals, func(a, b Goal) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(tl.Referrals, func(a, b Referral) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(tl.ReviewNotes, func(a, b ReviewNote) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(tl.Appointments, func(a, b Appointment) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.ID, b.ID))
	})
	sortOutcomeReviews(tl.OutcomeReviews)
	sortConsents(tl.Consents)
	sortRiskAssessments(tl.RiskAssessments)
	sortOrders(tl.Orders)
	return tl, nil
}

// Conflicts returns every conflict recorded on records the device holds.
func (d *Device) Conflicts(ctx context.Context) ([]Conflict, error) {
	clients, err := d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	var out []Conflict
	for _, c := range clients {
		tl, err := d.Timeline(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, tl.Client.Conflicts...)
		for _, x := range tl.Contacts {
			out = append(out, x.Conflicts...)
		}
		for _, x := range tl.Goals {
			out = append(out, x.Conflicts...)
		}
		for _, x := range tl.Referrals {
			out = append(out, x.Conflicts...)
		}
		for _, x := range tl.Appointments {
			out = append(out, x.Conflicts...)
		}
	}
	return out, nil
}

// ReviewNotes returns the review notes on the device's caseload, with
// queries awaiting the worker's answer first.
func (d *Device) ReviewNotes(ctx context.Context) ([]ReviewNote, error) {
	clients, err := d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	var out []ReviewNote
	for _, c := range clients {
		tl, err := d.Timeline(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, tl.ReviewNotes...)
	}
	slices.SortStableFunc(out, func(a, b ReviewNote) int {
		aq := a.State == "query_to_worker" && !schema.QueryAnswered(a.WorkerResponse)
		bq := b.State == "query_to_worker" && !schema.QueryAnswered(b.WorkerResponse)
		switch {
		case aq && !bq:
			return -1
		case bq && !aq:
			return 1
		}
		return 0
	})
	return out, nil
}

// Rejections returns the changes the server refused, oldest first.
func (d *Device) Rejections(_ context.Context) ([]Rejection, error) {
	var out []Rejection
	err := d.read(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pRejected}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ch := &v1.Change{}
			if err := it.Value(func(v []byte) error { return proto.Unmarshal(v, ch) }); err != nil {
				return err
			}
			raw, _, err := get(txn, seqKey(pVerdict, ch.GetDeviceSeq()))
			if err != nil {
				return err
			}
			res := &v1.ChangeResult{}
			if err := proto.Unmarshal(raw, res); err != nil {
				return err
			}
			out = append(out, Rejection{
				Seq: ch.GetDeviceSeq(), ClientID: ch.GetClientId(), RecordID: ch.GetRecordId(),
				RecordType: ch.GetRecordType(), Field: ch.GetField(),
				Reason:  strings.ToLower(strings.TrimPrefix(res.GetReason().String(), "REJECT_REASON_")),
				Message: res.GetMessage(), MadeAt: hlc.Wall(ch.GetStamp().GetTime()),
			})
		}
		return nil
	})
	return out, err
}

// Dismiss forgets a rejection once the user has seen it.
func (d *Device) Dismiss(_ context.Context, seq uint64) error {
	if err := d.read(func(*local.Txn) error { return nil }); err != nil {
		return err
	}
	removed := false
	err := d.db.Update(func(txn *local.Txn) error {
		_, ok, err := get(txn, seqKey(pRejected, seq))
		if err != nil || !ok {
			return err
		}
		removed = true
		if err := txn.Delete(seqKey(pRejected, seq)); err != nil {
			return err
		}
		return txn.Delete(seqKey(pVerdict, seq))
	})
	if err == nil && removed {
		d.setStatus(func(s *Status) { s.Rejected-- })
	}
	return err
}

func uuidString(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func toClient(st *v1.RecordState, pending bool) Client {
	consent, recorded := boolean(st, "consent_to_share")
	return Client{
		ID: st.GetRecordId(), GivenName: str(st, "given_name"), FamilyName: str(st, "family_name"),
		DateOfBirth: date(st, "date_of_birth"), Area: str(st, "area"), Pathway: str(st, "pathway"), Status: str(st, "status"),
		ConsentToShare: consent, ConsentRecorded: recorded,
		HousingStatus: str(st, "housing_status"), ETEStatus: str(st, "ete_status"), TreatmentProvider: str(st, "treatment_provider"),
		RiskFlags: members(st, "risk_flags"), KeyworkerNotes: str(st, "keyworker_notes"),
		TreatmentStarted: date(st, "treatment_started"), TreatmentEnded: date(st, "treatment_ended"),
		Pending: pending, Conflicts: conflicts(st.GetRecordId(), st),
	}
}

func toContact(clientID string, r *localRecord) Contact {
	st := r.state
	return Contact{
		ID: st.GetRecordId(), ClientID: clientID, OccurredAt: instant(st, "occurred_at"),
		Category: str(st, "category"), Mode: str(st, "mode"), Outcome: str(st, "outcome"), Notes: str(st, "notes"),
		DurationMinutes: int(integer(st, "duration_minutes")), FollowUp: date(st, "follow_up_date"),
		Attendance: str(st, "attendance"), Provider: str(st, "provider"), TestResult: str(st, "test_result"),
		Substances: members(st, "substances"), HousingStatusAfter: str(st, "housing_status_after"),
		ETEStatusAfter: str(st, "ete_status_after"), Author: str(st, "author"),
		Deleted: merge.IsDeleted(st), Pending: r.pending, Conflicts: conflicts(clientID, st),
	}
}

func toGoal(clientID string, r *localRecord) Goal {
	st := r.state
	return Goal{ID: st.GetRecordId(), ClientID: clientID, Domain: str(st, "domain"), Description: str(st, "description"),
		Status: str(st, "status"), TargetDate: date(st, "target_date"), Deleted: merge.IsDeleted(st), Pending: r.pending,
		Conflicts: conflicts(clientID, st)}
}

func toReferral(clientID string, r *localRecord) Referral {
	st := r.state
	return Referral{ID: st.GetRecordId(), ClientID: clientID, ServiceType: str(st, "service_type"), Organisation: str(st, "organisation"),
		Status: str(st, "status"), ReferredOn: date(st, "referred_on"), ClosedOn: date(st, "closed_on"), Notes: str(st, "notes"),
		Deleted: merge.IsDeleted(st), Pending: r.pending, Conflicts: conflicts(clientID, st)}
}

func toReviewNote(clientID string, r *localRecord) ReviewNote {
	st := r.state
	reviewer := ""
	if f := merge.Field(st, "text"); f != nil {
		reviewer = f.GetAuthor().GetUserId()
		if reviewer == "" {
			reviewer = st.GetAuthor().GetUserId()
		}
	}
	return ReviewNote{ID: st.GetRecordId(), ClientID: clientID, SubjectID: str(st, "subject_id"), Text: str(st, "text"),
		State: str(st, "state"), WorkerResponse: str(st, "worker_response"), Reviewer: reviewer,
		Deleted: merge.IsDeleted(st), Pending: r.pending}
}

func conflicts(clientID string, st *v1.RecordState) []Conflict {
	var out []Conflict
	for _, c := range st.GetConflicts() {
		out = append(out, Conflict{
			ID: c.GetId(), ClientID: clientID, RecordID: st.GetRecordId(), RecordType: st.GetRecordType(), Field: c.GetField(),
			Current: side(c.GetCurrent()), Incoming: side(c.GetIncoming()), DetectedAt: c.GetDetectedAt().AsTime(),
		})
	}
	return out
}

func side(s *v1.ConflictSide) ConflictSide {
	return ConflictSide{Value: render(s.GetValue()), At: hlc.Wall(s.GetStamp().GetTime()), UserID: s.GetAuthor().GetUserId()}
}

// render shows a value as text.
func render(v *v1.Value) string {
	switch k := v.GetKind().(type) {
	case *v1.Value_StringValue:
		return k.StringValue
	case *v1.Value_IntegerValue:
		return fmt.Sprint(k.IntegerValue)
	case *v1.Value_DecimalValue:
		return k.DecimalValue
	case *v1.Value_BoolValue:
		return fmt.Sprint(k.BoolValue)
	case *v1.Value_TimestampValue:
		return k.TimestampValue.AsTime().UTC().Format(time.RFC3339)
	case *v1.Value_DateValue:
		return Date{int(k.DateValue.GetYear()), time.Month(k.DateValue.GetMonth()), int(k.DateValue.GetDay())}.String()
	case *v1.Value_Tombstone:
		return "deleted: " + k.Tombstone.GetReason()
	}
	return ""
}
