package schema

import (
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// DeletedField is the reserved tombstone field every record type has.
const DeletedField = merge.DeletedField

// CurrentVersion is the version of the built-in schema.
//
// Version 1: client, contact, goal, referral, review_note.
// Version 2: appointment.
// Version 3: outcome_review (the Treatment Outcomes Profile, top.go);
// client.treatment_started and treatment_ended.
// Version 4: consent (consent.go), risk_assessment (risk.go).
// Version 4: court_order (order.go); appointment.order_id.
const CurrentVersion = 4

// Enumerations shared by several fields.
var (
	// HousingStatuses are the housing situations tracked for a client.
	HousingStatuses = []string{
		"rough_sleeping", "night_shelter", "hostel", "temporary_accommodation", "supported_housing",
		"staying_with_family_or_friends", "settled_tenancy", "owner_occupier", "in_prison", "unknown",
	}
	// ETEStatuses are employment, education and training situations.
	ETEStatuses = []string{
		"unemployed_seeking", "unemployed_not_seeking", "unable_to_work", "in_training", "in_education",
		"volunteering", "employed_part_time", "employed_full_time", "unknown",
	}
	// Pathways are the routes by which a client came onto a caseload.
	Pathways = []string{"arrest_referral", "drr", "dtto", "licence", "voluntary"}
	// ContactCategories are what a contact was about.
	ContactCategories = []string{
		"housing", "employment", "education_training", "family", "finance",
		"treatment_attendance", "drug_test", "health", "general",
	}
	// ContactModes are how a contact happened.
	ContactModes = []string{"home_visit", "office", "phone", "prison", "court", "community"}
	// AftercareDomains are the domains of a care-plan goal.
	AftercareDomains = []string{"housing", "finance", "family", "skills", "employment", "treatment"}
	// Substances are the substances a drug test can report.
	Substances = []string{
		"opiates", "crack_cocaine", "cocaine", "amphetamine", "cannabis", "benzodiazepines",
		"methadone", "buprenorphine", "synthetic_cannabinoids", "alcohol", "other",
	}
	// AppointmentTypes are the kinds of appointment a client keeps.
	AppointmentTypes = []string{
		"keywork", "prescribing_review", "required_assessment", "drr_review_hearing", "court",
		"probation", "housing", "job_centre_or_benefits", "health", "other",
	}
	// AppointmentStatuses are where an appointment stands: booked, or its
	// outcome.
	AppointmentStatuses = []string{
		"booked", "attended", "did_not_attend", "cancelled_by_client", "cancelled_by_service", "rescheduled",
	}
	// DNAReasons are the coded reasons a client did not attend.
	DNAReasons = []string{
		"client_cancelled", "in_hospital", "unwell", "worker_cancelled", "forgot", "in_custody", "other", "unknown",
	}
	// RiskFlags are the risks recorded against a client.
	RiskFlags = []string{
		"overdose", "self_harm", "violence", "lone_working", "safeguarding_children",
		"safeguarding_adult", "domestic_abuse", "blood_borne_virus",
	}
)

// Who may write the fields that not every role may (Field.Writers).
var (
	// workers answer a supervisor's query (review_note.worker_response).
	workers = []v1.Role{v1.Role_ROLE_WORKER}
	// staff (supervisors and admins) open and close cases, delete clients
	// and write review notes.
	staff = []v1.Role{v1.Role_ROLE_SUPERVISOR, v1.Role_ROLE_ADMIN}
	// admins move a client to another area.
	admins = []v1.Role{v1.Role_ROLE_ADMIN}
)

// writtenBy restricts who may write a field.
func writtenBy(roles []v1.Role, f Field) Field {
	f.Writers = roles
	return f
}

func deleted() Field {
	return Field{Name: DeletedField, Type: Tombstone, Since: 1, Doc: "Marks the record deleted (for example entered in error); it stays in history."}
}

func str(name string, max int, required bool, doc string) Field {
	return Field{Name: name, Type: String, MaxLen: max, Required: required, Since: 1, Doc: doc}
}

func text(name, doc string) Field {
	return Field{Name: name, Type: Text, MaxLen: 10_000, Since: 1, Doc: doc}
}

func enum(name string, values []string, required bool, doc string) Field {
	return Field{Name: name, Type: Enum, Values: values, Required: required, Since: 1, Doc: doc}
}

func typed(name string, t Type, required bool, doc string) Field {
	return Field{Name: name, Type: t, Required: required, Since: 1, Doc: doc}
}

// since marks a field as introduced by schema version v.
func since(v uint32, f Field) Field {
	f.Since = v
	return f
}

// Builtin returns the schema compiled into this build.
func Builtin() *Registry { return builtin }

var builtin = MustNew(CurrentVersion, 1,
	RecordType{Name: "client", Since: 1, Doc: "A person on a caseload. Its record id is the client id, which names the bucket.", Fields: []Field{
		str("given_name", 200, true, "Given name."),
		str("family_name", 200, true, "Family name."),
		typed("date_of_birth", Date, false, "Date of birth."),
		writtenBy(admins, str("area", 100, true, "The area (tenant) the client belongs to.")),
		enum("pathway", Pathways, true, "How the client came onto the caseload."),
		writtenBy(staff, enum("status", []string{"active", "closed"}, true, "Whether the case is open.")),
		typed("consent_to_share", Bool, false, "Consent to share information with partner services."),
		enum("housing_status", HousingStatuses, false, "Current housing situation."),
		enum("ete_status", ETEStatuses, false, "Current employment, education or training situation."),
		str("treatment_provider", 200, false, "The treatment service the client attends."),
		Field{Name: "risk_flags", Type: Set, Values: RiskFlags, Since: 1, Doc: "Risks to the client or to staff."},
		text("keyworker_notes", "The keyworker's running notes."),
		since(3, typed("treatment_started", Date, false, "The day the client's current treatment episode began (a start TOP is due then).")),
		since(3, typed("treatment_ended", Date, false, "The day the current treatment episode ended, the client discharged (an exit TOP is due then).")),
		writtenBy(staff, deleted()),
	}},
	RecordType{Name: "contact", Since: 1, Authorship: AuthorOwns, Doc: "One logged interaction with a client.", Fields: []Field{
		typed("occurred_at", Timestamp, true, "When the contact happened."),
		enum("category", ContactCategories, true, "What the contact was about."),
		enum("mode", ContactModes, true, "How it happened."),
		str("author", 100, true, "The user who logged it."),
		str("outcome", 500, false, "Short outcome."),
		text("notes", "Notes."),
		Field{Name: "duration_minutes", Type: Integer, Min: 0, Max: 24 * 60, Since: 1, Doc: "How long it lasted."},
		typed("follow_up_date", Date, false, "When to follow up."),
		enum("attendance", []string{"attended", "did_not_attend", "rescheduled"}, false, "Treatment attendance: whether the appointment was kept."),
		str("provider", 200, false, "Treatment attendance: the provider."),
		Field{Name: "substances", Type: Set, Values: Substances, Since: 1, Doc: "Drug test: substances tested positive."},
		enum("test_result", []string{"negative", "positive", "refused", "invalid"}, false, "Drug test: the result."),
		enum("housing_status_after", HousingStatuses, false, "Housing: the client's housing status after the contact."),
		enum("ete_status_after", ETEStatuses, false, "Employment or training: the client's status after the contact."),
		deleted(),
	}},
	RecordType{Name: "goal", Since: 1, Doc: "A care-plan goal in one aftercare domain.", Fields: []Field{
		enum("domain", AftercareDomains, true, "The aftercare domain."),
		str("description", 1000, true, "What the client is working towards."),
		enum("status", []string{"open", "achieved", "dropped"}, true, "Progress."),
		typed("target_date", Date, false, "When it should be achieved."),
		deleted(),
	}},
	RecordType{Name: "referral", Since: 1, Doc: "A referral to another service.", Fields: []Field{
		enum("service_type", []string{"housing_provider", "job_centre", "debt_advice", "family_support", "treatment_service", "education_provider"}, true, "The kind of service."),
		str("organisation", 200, true, "The organisation referred to."),
		enum("status", []string{"made", "accepted", "declined", "completed", "withdrawn"}, true, "Progress."),
		typed("referred_on", Date, false, "When the referral was made."),
		typed("closed_on", Date, false, "When it was completed, declined or withdrawn."),
		text("notes", "Notes."),
		deleted(),
	}},
	RecordType{Name: "review_note", Since: 1, Doc: "A supervisor's comment on a contact or client; it syncs to the worker's device.", Fields: []Field{
		writtenBy(staff, typed("subject_id", Ref, true, "The record the note is about.")),
		writtenBy(staff, str("text", 4000, true, "The comment.")),
		writtenBy(staff, enum("state", []string{"reviewed", "query_to_worker", "resolved"}, true, "Where the review stands.")),
		writtenBy(workers, text("worker_response", "The worker's answer to a query.")),
		writtenBy(staff, deleted()),
	}},
	RecordType{Name: "appointment", Since: 2, Authorship: AuthorFixed, Doc: "An appointment the client is to keep (keywork, a prescribing review, a court hearing, the job centre), booked ahead and then given its outcome.", Fields: append(allSince(2,
		enum("appointment_type", AppointmentTypes, true, "What kind of appointment it is."),
		typed("starts_at", Timestamp, true, "When it starts."),
		Field{Name: "duration_minutes", Type: Integer, Min: 0, Max: 24 * 60, Doc: "How long it is expected to last."},
		str("with_whom", 200, false, "Who the client is to see: the provider, the court, the officer."),
		str("place", 200, false, "Where it is."),
		enum("status", AppointmentStatuses, true, "Booked, or what happened: attended, did not attend, cancelled by the client or the service, rescheduled."),
		enum("dna_reason", DNAReasons, false, "Why the client did not attend (status did_not_attend)."),
		str("author", 100, true, "The user who booked it."),
		typed("contact_id", Ref, false, "The contact that recorded its outcome."),
		typed("rescheduled_to", Ref, false, "The appointment that replaced it (status rescheduled)."),
		text("notes", "Notes."),
		deleted(),
	), since(4, typed("order_id", Ref, false, "The court order a review hearing (appointment_type drr_review_hearing) belongs to.")))},
	outcomeReview(),
	consentRecord(),
	riskAssessment(),
	courtOrder(),
)

// allSince marks the fields of a record type schema version v introduced.
func allSince(v uint32, fields ...Field) []Field {
	for i := range fields {
		fields[i] = since(v, fields[i])
	}
	return fields
}
