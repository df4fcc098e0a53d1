package caseload

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Client is a person on the caseload.
type Client struct {
	ID                    string
	GivenName, FamilyName string
	DateOfBirth           Date
	Area, Pathway, Status string
	// ConsentToShare is unknown until ConsentRecorded.
	ConsentToShare, ConsentRecorded bool
	HousingStatus, ETEStatus        string
	TreatmentProvider               string
	RiskFlags                       []string
	KeyworkerNotes                  string
	// TreatmentStarted and TreatmentEnded bound the current treatment
	// episode (zero: not recorded), which sets when TOPs are due.
	TreatmentStarted, TreatmentEnded Date
	// Pending is true while this device has changes to it not yet synced.
	Pending bool
	// Conflicts are concurrent edits the server recorded for review.
	Conflicts []Conflict
}

// Contact is one logged interaction with a client. Category says which of
// the category-specific fields apply:
//
//	treatment_attendance      Attendance, Provider
//	drug_test                 TestResult, Substances
//	housing                   HousingStatusAfter
//	employment,
//	education_training        ETEStatusAfter
type Contact struct {
	ID, ClientID string
	OccurredAt   time.Time
	// Category and Mode take the schema's values (see Categories, Modes).
	Category, Mode  string
	Outcome, Notes  string
	DurationMinutes int
	FollowUp        Date

	Attendance, Provider string
	TestResult           string
	Substances           []string
	HousingStatusAfter   string
	ETEStatusAfter       string

	// Set when read: who logged it, whether it was deleted, whether this
	// device has not synced it yet, and conflicts recorded on it.
	Author    string
	Deleted   bool
	Pending   bool
	Conflicts []Conflict
}

// Goal is a care-plan goal in one aftercare domain.
type Goal struct {
	ID, ClientID        string
	Domain, Description string
	// Status is open (the default), achieved or dropped.
	Status     string
	TargetDate Date
	Deleted    bool
	Pending    bool
	Conflicts  []Conflict
}

// Referral is a referral to another service.
type Referral struct {
	ID, ClientID              string
	ServiceType, Organisation string
	// Status is made (the default), accepted, declined, completed or
	// withdrawn.
	Status               string
	ReferredOn, ClosedOn Date
	Notes                string
	Deleted              bool
	Pending              bool
	Conflicts            []Conflict
}

// ReviewNote is a supervisor's comment on a contact or a client. A worker
// answers a query with RespondToReview.
type ReviewNote struct {
	ID, ClientID, SubjectID string
	Text                    string
	// State is reviewed, query_to_worker or resolved.
	State          string
	WorkerResponse string
	// Reviewer is the supervisor who wrote the note.
	Reviewer string
	Deleted  bool
	Pending  bool
}

// categoryFields are the contact fields only some categories take.
var categoryFields = map[string][]string{
	"attendance": {"treatment_attendance"}, "provider": {"treatment_attendance"},
	"test_result": {"drug_test"}, "substances": {"drug_test"},
	"housing_status_after": {"housing"},
	"ete_status_after":     {"employment", "education_training"},
}

// LogContact logs a contact with a client on the caseload and returns its
// id. The author is the signed-in user.
func (d *Device) LogContact(ctx context.Context, clientID string, c Contact) (string, error) {
	if c.OccurredAt.IsZero() {
		return "", fmt.Errorf("caseload: %w: a contact needs the time it happened", ErrInvalid)
	}
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	edits, err := d.contactEdits(c)
	if err != nil {
		return "", err
	}
	id := newID()
	return id, d.Write(ctx, "contact", clientID, id, edits...)
}

// contactEdits are the edits that log c, checked as far as they can be
// without the store.
func (d *Device) contactEdits(c Contact) ([]Edit, error) {
	if c.OccurredAt.IsZero() {
		return nil, fmt.Errorf("caseload: %w: a contact needs the time it happened", ErrInvalid)
	}
	edits := []Edit{
		{"occurred_at", Time(c.OccurredAt)},
		{"category", String(c.Category)},
		{"mode", String(c.Mode)},
		{"author", String(d.UserID())},
	}
	opt := func(field string, v *v1.Value, set bool) {
		if set {
			edits = append(edits, Edit{field, v})
		}
	}
	opt("outcome", String(c.Outcome), c.Outcome != "")
	opt("notes", String(c.Notes), c.Notes != "")
	opt("duration_minutes", Int(int64(c.DurationMinutes)), c.DurationMinutes != 0)
	opt("follow_up_date", DateValue(c.FollowUp), !c.FollowUp.IsZero())
	opt("attendance", String(c.Attendance), c.Attendance != "")
	opt("provider", String(c.Provider), c.Provider != "")
	opt("test_result", String(c.TestResult), c.TestResult != "")
	opt("housing_status_after", String(c.HousingStatusAfter), c.HousingStatusAfter != "")
	opt("ete_status_after", String(c.ETEStatusAfter), c.ETEStatusAfter != "")
	for _, s := range c.Substances {
		edits = append(edits, Edit{"substances", AddTo(s)})
	}
	for _, e := range edits {
		if cats, ok := categoryFields[e.Field]; ok && !slices.Contains(cats, c.Category) {
			return nil, fmt.Errorf("caseload: %w: %s is recorded only for %s contacts", ErrInvalid, e.Field, strings.Join(cats, " and "))
		}
	}
	return edits, nil
}

// AddGoal adds a care-plan goal and returns its id.
func (d *Device) AddGoal(ctx context.Context, clientID string, g Goal) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if g.Status == "" {
		g.Status = "open"
	}
	edits := []Edit{{"domain", String(g.Domain)}, {"description", String(g.Description)}, {"status", String(g.Status)}}
	if !g.TargetDate.IsZero() {
		edits = append(edits, Edit{"target_date", DateValue(g.TargetDate)})
	}
	id := newID()
	return id, d.Write(ctx, "goal", clientID, id, edits...)
}

// SetGoalStatus moves a goal on: open, achieved or dropped.
func (d *Device) SetGoalStatus(ctx context.Context, clientID, goalID, status string) error {
	if err := d.exists(ctx, clientID, goalID, "goal"); err != nil {
		return err
	}
	return d.Write(ctx, "goal", clientID, goalID, Edit{"status", String(status)})
}

// MakeReferral records a referral to another service and returns its id.
func (d *Device) MakeReferral(ctx context.Context, clientID string, r Referral) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if r.Status == "" {
		r.Status = "made"
	}
	edits := []Edit{{"service_type", String(r.ServiceType)}, {"organisation", String(r.Organisation)}, {"status", String(r.Status)}}
	if !r.ReferredOn.IsZero() {
		edits = append(edits, Edit{"referred_on", DateValue(r.ReferredOn)})
	}
	if !r.ClosedOn.IsZero() {
		edits = append(edits, Edit{"closed_on", DateValue(r.ClosedOn)})
	}
	if r.Notes != "" {
		edits = append(edits, Edit{"notes", String(r.Notes)})
	}
	id := newID()
	return id, d.Write(ctx, "referral", clientID, id, edits...)
}

// SetReferralStatus records a referral's progress; closedOn (optional)
// is when it was completed, declined or withdrawn.
func (d *Device) SetReferralStatus(ctx context.Context, clientID, referralID, status string, closedOn Date) error {
	if err := d.exists(ctx, clientID, referralID, "referral"); err != nil {
		return err
	}
	edits := []Edit{{"status", String(status)}}
	if !closedOn.IsZero() {
		edits = append(edits, Edit{"closed_on", DateValue(closedOn)})
	}
	return d.Write(ctx, "referral", clientID, referralID, edits...)
}

// UpdateClient edits fields of a client's record, for example
//
//	dev.UpdateClient(ctx, id, caseload.Edit{Field: "housing_status", Value: caseload.String("settled")})
//
// Workers may not change a client's area or status; the server refuses
// such changes (see Rejections).
func (d *Device) UpdateClient(ctx context.Context, clientID string, edits ...Edit) error {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return err
	}
	return d.Write(ctx, "client", clientID, clientID, edits...)
}

// AddRiskFlag adds a risk flag to a client.
func (d *Device) AddRiskFlag(ctx context.Context, clientID, flag string) error {
	return d.UpdateClient(ctx, clientID, Edit{"risk_flags", AddTo(flag)})
}

// RemoveRiskFlag removes a risk flag as this device sees it: a flag another
// device added meanwhile stays (add wins).
func (d *Device) RemoveRiskFlag(ctx context.Context, clientID, flag string) error {
	st, _, err := d.record(ctx, clientID, clientID)
	if err != nil {
		return err
	}
	var observed []*v1.Stamp
	for _, e := range fieldValue(st, "risk_flags").GetSetState().GetElements() {
		if e.GetElement() == flag {
			observed = e.GetAdds()
		}
	}
	if len(observed) == 0 {
		return nil // not flagged
	}
	return d.Write(ctx, "client", clientID, clientID, Edit{"risk_flags", removeFrom(flag, observed)})
}

// RespondToReview answers a supervisor's query.
func (d *Device) RespondToReview(ctx context.Context, clientID, noteID, response string) error {
	if err := d.exists(ctx, clientID, noteID, "review_note"); err != nil {
		return err
	}
	return d.Write(ctx, "review_note", clientID, noteID, Edit{"worker_response", String(response)})
}

// Delete marks a record deleted, for example a contact entered in error
// (reason "entered_in_error"). It stays in the record's history.
func (d *Device) Delete(ctx context.Context, clientID, recordID, reason string) error {
	st, _, err := d.record(ctx, clientID, recordID)
	if err != nil {
		return err
	}
	return d.Write(ctx, st.GetRecordType(), clientID, recordID, Edit{"deleted", Deleted(reason)})
}

// onCaseload checks the device holds the client (its record as pulled:
// changes waiting in the outbox for a client taken off the caseload do not
// bring it back).
func (d *Device) onCaseload(ctx context.Context, clientID string) error {
	return d.exists(ctx, clientID, clientID, "client")
}

func (d *Device) exists(ctx context.Context, clientID, recordID, recordType string) error {
	st, _, err := d.record(ctx, clientID, recordID)
	if err != nil {
		return err
	}
	if st.GetRecordType() != recordType {
		return fmt.Errorf("caseload: %w: no such %s", ErrNotFound, recordType)
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
