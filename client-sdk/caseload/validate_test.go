package caseload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// planted is a value the tests submit to see whether an error echoes it:
// submitted values may be personal data, and errors end up in logs.
const planted = "Zebedee Quux 1971-04-02"

// Bad requests are refused with ErrInvalid before anything is stored, and
// the error says what is wrong without repeating what was submitted.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	contact := mustLog(t, d, c, contactAt(time.Now()))
	now := time.Now()
	long := strings.Repeat(planted, 30) // over the 500 characters of outcome

	tests := []struct {
		name string
		do   func() error
		say  string // the error names the problem
	}{
		{"contact without time", func() error {
			_, err := d.LogContact(ctx, c, Contact{Category: "general", Mode: "phone", Notes: planted})
			return err
		}, "time it happened"},
		{"unknown category", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: planted, Mode: "phone"})
			return err
		}, "category"},
		{"unknown mode", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "general", Mode: planted})
			return err
		}, "mode"},
		{"attendance on a housing contact", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "housing", Mode: "phone", Attendance: "attended", Notes: planted})
			return err
		}, "attendance"},
		{"test result on a family contact", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "family", Mode: "phone", TestResult: "negative", Outcome: planted})
			return err
		}, "test_result"},
		{"substances on a housing contact", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "housing", Mode: "phone", Substances: []string{"opiates"}})
			return err
		}, "substances"},
		{"housing status after an employment contact", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "employment", Mode: "phone", HousingStatusAfter: "hostel"})
			return err
		}, "housing_status_after"},
		{"unknown attendance", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "treatment_attendance", Mode: "phone", Attendance: planted})
			return err
		}, "attendance"},
		{"unknown substance", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "drug_test", Mode: "phone", Substances: []string{planted}})
			return err
		}, "substances"},
		{"outcome too long", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "general", Mode: "phone", Outcome: long})
			return err
		}, "characters"},
		{"control characters", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "general", Mode: "phone", Outcome: planted + "\x07"})
			return err
		}, "control"},
		{"duration out of range", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: now, Category: "general", Mode: "phone", DurationMinutes: -5, Notes: planted})
			return err
		}, "duration_minutes"},
		{"time before 1900", func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC), Category: "general", Mode: "phone", Notes: planted})
			return err
		}, "occurred_at"},
		{"client id not a UUID", func() error {
			return d.Write(ctx, "contact", planted, newID(), Edit{"notes", String("x")})
		}, "UUID"},
		{"record id not a UUID", func() error {
			return d.Write(ctx, "contact", c, planted, Edit{"notes", String("x")})
		}, "UUID"},
		{"upper-case UUID", func() error {
			return d.Write(ctx, "contact", c, strings.ToUpper(newID()), Edit{"notes", String(planted)})
		}, "UUID"},
		{"client record under another id", func() error {
			return d.Write(ctx, "client", c, newID(), Edit{"keyworker_notes", String(planted)})
		}, "client id"},
		{"unknown record type", func() error {
			return d.Write(ctx, planted, c, newID(), Edit{"notes", String("x")})
		}, "unknown record type"},
		{"unknown field", func() error {
			return d.Write(ctx, "contact", c, contact, Edit{"no_such_field", String(planted)})
		}, "no_such_field"},
		{"wrong value type", func() error {
			return d.Write(ctx, "contact", c, contact, Edit{"duration_minutes", String(planted)})
		}, "expected"},
		{"no edits", func() error {
			return d.Write(ctx, "contact", c, contact)
		}, "nothing to write"},
		{"new goal missing required fields", func() error {
			return d.Write(ctx, "goal", c, newID(), Edit{"description", String(planted)})
		}, "needs"},
		{"new contact missing required fields", func() error {
			return d.Write(ctx, "contact", c, newID(), Edit{"notes", String(planted)})
		}, "needs"},
		{"goal with unknown domain", func() error {
			_, err := d.AddGoal(ctx, c, Goal{Domain: planted, Description: "Find a flat"})
			return err
		}, "domain"},
		{"goal with blank description", func() error {
			_, err := d.AddGoal(ctx, c, Goal{Domain: "housing", Description: "  "})
			return err
		}, "blank"},
		{"referral with unknown status", func() error {
			_, err := d.MakeReferral(ctx, c, Referral{ServiceType: "job_centre", Organisation: "Brixton Jobcentre", Status: planted})
			return err
		}, "status"},
		{"unknown risk flag", func() error { return d.AddRiskFlag(ctx, c, planted) }, "risk_flags"},
		{"bad date of birth", func() error {
			return d.UpdateClient(ctx, c, Edit{"date_of_birth", DateValue(Date{2023, 2, 30})})
		}, "date"},
		{"deletion reason with control characters", func() error {
			return d.Delete(ctx, c, contact, planted+"\n")
		}, "reason"},
	}
	pending := d.Status().Pending
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if msg := err.Error(); strings.Contains(msg, planted) || strings.Contains(msg, "Zebedee") {
				t.Errorf("error %q repeats the submitted value", msg)
			}
			if !strings.Contains(err.Error(), tt.say) {
				t.Errorf("error %q does not say %q", err, tt.say)
			}
		})
	}
	if got := d.Status().Pending; got != pending {
		t.Fatalf("refused writes changed Pending from %d to %d", pending, got)
	}
	tl, err := d.Timeline(ctx, c)
	must(t, err)
	if len(tl.Contacts) != 1 || len(tl.Goals) != 0 || len(tl.Referrals) != 0 {
		t.Fatalf("refused writes left records: %d contacts, %d goals, %d referrals", len(tl.Contacts), len(tl.Goals), len(tl.Referrals))
	}
}

// Writes to records that are not on the device are ErrNotFound, and the
// typed methods check the record's type.
func TestNotOnTheDevice(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	contact := mustLog(t, d, c, contactAt(time.Now()))
	stranger := newID()
	tests := []struct {
		name string
		do   func() error
	}{
		{"contact for an unknown client", func() error { _, err := d.LogContact(ctx, stranger, contactAt(time.Now())); return err }},
		{"goal for an unknown client", func() error {
			_, err := d.AddGoal(ctx, stranger, Goal{Domain: "housing", Description: "x"})
			return err
		}},
		{"update an unknown client", func() error { return d.UpdateClient(ctx, stranger, Edit{"keyworker_notes", String("x")}) }},
		{"goal status of a contact", func() error { return d.SetGoalStatus(ctx, c, contact, "achieved") }},
		{"referral status of an unknown record", func() error { return d.SetReferralStatus(ctx, c, newID(), "accepted", Date{}) }},
		{"respond to a review that is not there", func() error { return d.RespondToReview(ctx, c, newID(), "Done") }},
		{"delete an unknown record", func() error { return d.Delete(ctx, c, newID(), "entered_in_error") }},
		{"read an unknown client", func() error { _, err := d.Client(ctx, stranger); return err }},
		{"timeline of an unknown client", func() error { _, err := d.Timeline(ctx, stranger); return err }},
		{"a contact read as a client", func() error { _, err := d.Client(ctx, contact); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
	}
}

// The typed methods write what they are given, and Delete leaves a
// tombstone that keeps the record in the timeline.
func TestTypedWrites(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	at := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	id := mustLog(t, d, c, Contact{OccurredAt: at, Category: "drug_test", Mode: "office", TestResult: "positive",
		Substances: []string{"opiates", "cocaine"}, DurationMinutes: 15, FollowUp: Date{2026, 5, 8}, Notes: "Discussed script"})
	goal, err := d.AddGoal(ctx, c, Goal{Domain: "housing", Description: "Move into a tenancy", TargetDate: Date{2026, 9, 1}})
	must(t, err)
	must(t, d.SetGoalStatus(ctx, c, goal, "achieved"))
	ref, err := d.MakeReferral(ctx, c, Referral{ServiceType: "debt_advice", Organisation: "Citizens Advice Lambeth", ReferredOn: Date{2026, 5, 1}})
	must(t, err)
	must(t, d.SetReferralStatus(ctx, c, ref, "completed", Date{2026, 5, 20}))
	must(t, d.AddRiskFlag(ctx, c, "overdose"))
	must(t, d.UpdateClient(ctx, c, Edit{"consent_to_share", Bool(true)}))

	tl, err := d.Timeline(ctx, c)
	must(t, err)
	if len(tl.Contacts) != 1 {
		t.Fatalf("contacts %+v", tl.Contacts)
	}
	x := tl.Contacts[0]
	if x.ID != id || !x.OccurredAt.Equal(at) || x.TestResult != "positive" || strings.Join(x.Substances, ",") != "cocaine,opiates" ||
		x.DurationMinutes != 15 || x.FollowUp != (Date{2026, 5, 8}) || x.Notes != "Discussed script" || x.Author != d.UserID() || !x.Pending {
		t.Fatalf("contact read back as %+v", x)
	}
	if len(tl.Goals) != 1 || tl.Goals[0].Status != "achieved" || tl.Goals[0].TargetDate != (Date{2026, 9, 1}) {
		t.Fatalf("goals %+v", tl.Goals)
	}
	if len(tl.Referrals) != 1 || tl.Referrals[0].Status != "completed" || tl.Referrals[0].ClosedOn != (Date{2026, 5, 20}) || tl.Referrals[0].Organisation != "Citizens Advice Lambeth" {
		t.Fatalf("referrals %+v", tl.Referrals)
	}
	if cl := tl.Client; strings.Join(cl.RiskFlags, ",") != "overdose" || !cl.ConsentToShare || !cl.ConsentRecorded || !cl.Pending {
		t.Fatalf("client %+v", cl)
	}

	must(t, d.Delete(ctx, c, id, "entered_in_error"))
	tl, err = d.Timeline(ctx, c)
	must(t, err)
	if len(tl.Contacts) != 1 || !tl.Contacts[0].Deleted {
		t.Fatalf("deleted contact reads as %+v", tl.Contacts)
	}
}
