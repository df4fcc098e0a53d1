package schema

// The risk assessment (schema version 4). RiskDomains is the one list of the
// risks it assesses: the risk_assessment record type's per-domain fields are
// generated from it, and so is the mapping to the client's older risk_flags
// set (RiskFlagChanges), which tablets on schema 3 and earlier still show.

// RiskDomain is one risk the assessment covers.
type RiskDomain struct {
	// Name prefixes the domain's fields: <name>_level, _at_risk,
	// _protective_factors, _review_date.
	Name string
	// Flag is the client's risk_flags element the domain's level sets or
	// clears ("": none, the flag set has no element for it).
	Flag string
	// Doc says what the risk is.
	Doc string
	// AlsoLevel is another level field that counts towards the flag
	// (overdose: release_overdose_level, the risk on release from prison).
	AlsoLevel string
}

// LevelField names the domain's level field.
func (d RiskDomain) LevelField() string { return d.Name + "_level" }

// RiskDomains are the risks assessed, in the form's order.
var RiskDomains = []RiskDomain{
	{"overdose", "overdose", "Risk of overdose.", "release_overdose_level"},
	{"self_harm", "self_harm", "Risk of self-harm or suicide.", ""},
	{"harm_to_others", "violence", "Risk of harm to others (violence).", ""},
	{"harm_from_others", "", "Risk of harm from others (exploitation, abuse, cuckooing).", ""},
	{"safeguarding_children", "safeguarding_children", "Safeguarding concerns for children.", ""},
	{"safeguarding_adults", "safeguarding_adult", "Safeguarding concerns for adults at risk.", ""},
	{"lone_working", "lone_working", "Risk to staff working alone with the client.", ""},
}

// RiskLevels are a risk's levels, lowest first.
var RiskLevels = []string{"low", "medium", "high"}

// NaloxoneProducts are the naloxone products a client may be supplied.
var NaloxoneProducts = []string{"prenoxad_injection", "nyxoid_nasal_spray", "other"}

// MaxNaloxoneQuantity bounds the naloxone kits supplied at once.
const MaxNaloxoneQuantity = 20

// RiskFlagChanges maps an assessment's levels (by level field:
// overdose_level, ...) to the client's risk_flags. A domain's level is the
// higher of its level field and its AlsoLevel; at medium or high it raises
// the domain's flag, at low it clears it, and not assessed (neither field
// set) it leaves the flag as it is. Flags no domain owns (domestic_abuse,
// blood_borne_virus) are never touched; harm_from_others has no flag. Both
// lists are in RiskDomains' order.
func RiskFlagChanges(levels map[string]string) (raise, clear []string) {
	rank := map[string]int{"low": 1, "medium": 2, "high": 3}
	for _, d := range RiskDomains {
		if d.Flag == "" {
			continue
		}
		level := max(rank[levels[d.LevelField()]], rank[levels[d.AlsoLevel]])
		switch {
		case level >= 2:
			raise = append(raise, d.Flag)
		case level == 1:
			clear = append(clear, d.Flag)
		}
	}
	return raise, clear
}

// riskAssessment is the risk_assessment record type.
func riskAssessment() RecordType {
	fields := []Field{
		typed("assessed_on", Date, true, "The day of the assessment."),
		str("author", 100, true, "The user who made it."),
	}
	for _, d := range RiskDomains {
		fields = append(fields,
			enum(d.LevelField(), RiskLevels, false, d.Doc+" The level: low, medium or high."),
			str(d.Name+"_at_risk", 500, false, d.Doc+" Who is at risk."),
			text(d.Name+"_protective_factors", d.Doc+" The protective factors."),
			typed(d.Name+"_review_date", Date, false, d.Doc+" When to review it."))
	}
	fields = append(fields,
		typed("release_date", Date, false, "Overdose risk on release from prison: the day of release (tolerance is lower after custody)."),
		enum("release_overdose_level", RiskLevels, false, "Overdose risk on release from prison: the level."),
		typed("naloxone_supplied_on", Date, false, "Naloxone supplied: the day."),
		enum("naloxone_product", NaloxoneProducts, false, "Naloxone supplied: the product."),
		Field{Name: "naloxone_quantity", Type: Integer, Min: 1, Max: MaxNaloxoneQuantity, Doc: "Naloxone supplied: how many kits."},
		text("notes", "Notes."),
		writtenBy(staff, deleted()),
	)
	return RecordType{Name: "risk_assessment", Since: 4, Authorship: AuthorOwns,
		Doc:    "A risk assessment: each risk's level, who is at risk, protective factors and review date; overdose risk on release from prison and naloxone supplied.",
		Fields: allSince(4, fields...)}
}
