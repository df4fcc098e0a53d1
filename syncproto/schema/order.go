package schema

// Court orders: a community sentence or a licence whose requirements the
// service monitors (a Drug Rehabilitation Requirement, the Drug Treatment
// and Testing Order before it, a community order with a drug or alcohol
// requirement, a licence or post-sentence supervision after prison). A DRR
// over 12 months is reviewed by the court at hearings at least a month
// apart, with a written report (Sentencing Act 2020, Schedule 9,
// paragraph 21); the hearings are appointments of type drr_review_hearing
// whose order_id names the order (schema version 4).

// OrderKinds are the kinds of court order.
var OrderKinds = []string{
	"drr", "dtto", "community_order_drug_requirement", "community_order_alcohol_requirement",
	"licence", "post_sentence_supervision",
}

// TestingFrequencies are how often an order requires the client to be
// drug tested.
var TestingFrequencies = []string{
	"none", "monthly", "fortnightly", "weekly", "twice_weekly", "three_times_weekly", "at_each_appointment",
}

// ReviewHearingType is the appointment type of a court review hearing.
const ReviewHearingType = "drr_review_hearing"

// MaxReviewIntervalDays bounds an order's review interval.
const MaxReviewIntervalDays = 366

// courtOrder is the court_order record type. Any role reaching the client
// records and corrects an order (a worker at court, a supervisor from the
// paperwork); only supervisors and admins delete one.
func courtOrder() RecordType {
	return RecordType{Name: "court_order", Since: 4, Authorship: AuthorFixed, Doc: "A court order or licence the client is under, whose requirements the service monitors; its review hearings are appointments naming it (appointment.order_id).", Fields: allSince(4,
		enum("kind", OrderKinds, true, "The kind of order: DRR, DTTO, community order with a drug or alcohol requirement, licence, post-sentence supervision."),
		str("court", 200, false, "The court that made the order (or, for a licence, the releasing prison)."),
		typed("start_date", Date, true, "The day the order (or licence) began."),
		typed("end_date", Date, false, "The day it ends; after start_date (the SDK checks)."),
		enum("testing_frequency", TestingFrequencies, false, "How often the order requires the client to be drug tested."),
		Field{Name: "review_interval_days", Type: Integer, Min: 1, Max: MaxReviewIntervalDays, Doc: "Days between the court's reviews of the order (for a DRR over 12 months, at least a month)."},
		str("responsible_officer", 200, false, "The responsible officer (probation) for the order."),
		str("author", 100, true, "The user who recorded it."),
		text("notes", "Notes."),
		writtenBy(staff, deleted()),
	)}
}
