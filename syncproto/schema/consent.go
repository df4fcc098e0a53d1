package schema

// Structured consent (schema version 4). A client's consent is a set of
// consent records, one per decision: to national monitoring (NDTMS), or to
// share information with one named partner. Each says when it was given
// and, once withdrawn, when. The current state is derived from them by one
// rule, package syncproto/consent, that the tablet and the server share.
//
// The client's older consent_to_share flag stays for tablets on schema 3
// and earlier; a new tablet writes it, derived, whenever it records or
// withdraws consent: true when consent to share with any partner is current
// (consent.State.SharesWithAnyPartner).

// ConsentNationalMonitoring is the scope of consent to national monitoring
// (NDTMS): a client who withdraws it is left out of exports and statistics.
const ConsentNationalMonitoring = "national_monitoring"

// ConsentPartners are the partners a client may consent to share with.
var ConsentPartners = []string{"probation", "police", "prison_healthcare", "gp", "housing_provider", "job_centre"}

// ConsentScopes are what a consent record may be about: national
// monitoring, or sharing with one of ConsentPartners.
var ConsentScopes = append([]string{ConsentNationalMonitoring}, ConsentPartners...)

// consentRecord is the consent record type.
func consentRecord() RecordType {
	return RecordType{Name: "consent", Since: 4, Authorship: AuthorFixed,
		Doc: "One consent decision: to national monitoring, or to share with one named partner, given on a day and perhaps later withdrawn.",
		Fields: allSince(4,
			enum("scope", ConsentScopes, true, "What the consent is to: national_monitoring (NDTMS), or sharing with the named partner."),
			typed("given_on", Date, true, "The day the client gave it."),
			typed("withdrawn_on", Date, false, "The day the client withdrew it (unset: not withdrawn)."),
			str("author", 100, true, "The user who recorded it."),
			str("withdrawn_by", 100, false, "The user who recorded the withdrawal."),
			text("notes", "Notes (how consent was explained, the form signed)."),
			writtenBy(staff, deleted()),
		)}
}
