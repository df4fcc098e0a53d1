package schema

// The Treatment Outcomes Profile (TOP) is the interview a keyworker takes at
// the start of treatment, at reviews and at exit; every item covers the 28
// days before the interview. TOPItems is the one list of its items: the
// outcome_review record type's fields are generated from it, so a revision
// of the profile is a change to this table (and a new schema version).
//
// Each item can be answered or recorded as not answered: its name is then
// in the record's not_answered set, which is distinct from an item not yet
// filled in. An item in not_answered is not answered whatever its fields
// hold (the SDK clears them when it records the item as not answered, but
// another device may have answered it concurrently).

// TOPKind is the shape of a TOP item's answer.
type TOPKind int

// The kinds of TOP item.
const (
	// TOPWeeklyDays is days in each of the four weeks (0–7 each): fields
	// <item>_week1 … <item>_week4, and, when the item has Units, the
	// average amount on a using day (<item>_amount) and its unit
	// (<item>_unit).
	TOPWeeklyDays TOPKind = iota + 1
	// TOPDays is days in the 28 (0–28): the field <item>_days.
	TOPDays
	// TOPYesNo is yes or no: the bool field <item>.
	TOPYesNo
	// TOPRating is a rating from 0 (poor) to 20 (good): the field <item>.
	TOPRating
)

// TOPItem is one item of the profile.
type TOPItem struct {
	// Name names the item in not_answered and prefixes its fields.
	Name string
	// Section is the part of the profile it belongs to (TOPSections).
	Section string
	Kind    TOPKind
	// Units are the units its amount may be given in (TOPWeeklyDays only;
	// none: the item records days only).
	Units []string
	// Doc is the question, as its fields' documentation says it.
	Doc string
	// Better says which way a change of the item's score is an
	// improvement (TOPLowerBetter: less use, fewer crime days, no longer
	// homeless; TOPHigherBetter: better health, more days in work).
	Better TOPDirection
}

// TOPDirection is which way an item's score improves.
type TOPDirection int

// The directions of improvement.
const (
	TOPLowerBetter TOPDirection = iota + 1
	TOPHigherBetter
)

// Score is one number for an answer to the item: total days over the four
// weeks (TOPWeeklyDays), days (TOPDays), the rating (TOPRating), or 1 for
// yes and 0 for no (TOPYesNo). Change from start compares scores.
func (it TOPItem) Score(weeks [4]int, days, rating int, yes bool) int {
	switch it.Kind {
	case TOPWeeklyDays:
		return weeks[0] + weeks[1] + weeks[2] + weeks[3]
	case TOPDays:
		return days
	case TOPRating:
		return rating
	case TOPYesNo:
		if yes {
			return 1
		}
	}
	return 0
}

// TOPSections are the profile's parts, in the form's order.
var TOPSections = []string{"substance_use", "injecting", "crime", "health_and_social_functioning"}

// TOPStages are the points of treatment at which the profile is taken.
var TOPStages = []string{"start", "review", "exit", "post_treatment_exit"}

// The bounds of TOP answers.
const (
	TOPWeekDays   = 7
	TOPPeriodDays = 28
	TOPRatingMax  = 20
	// TOPAmountMax bounds the average amount on a using day in any unit.
	TOPAmountMax = 10_000
)

// TOPItems are the profile's items, in the form's order.
var TOPItems = []TOPItem{
	{"alcohol", "substance_use", TOPWeeklyDays, []string{"alcohol_units"}, "Alcohol: days drunk each week, and units on a drinking day.", TOPLowerBetter},
	{"opiates", "substance_use", TOPWeeklyDays, []string{"grams", "milligrams", "millilitres", "tablets"}, "Illicit opiates (heroin, street methadone): days used each week, and the amount on a using day.", TOPLowerBetter},
	{"crack", "substance_use", TOPWeeklyDays, []string{"grams", "rocks"}, "Crack: days used each week, and the amount on a using day.", TOPLowerBetter},
	{"cocaine", "substance_use", TOPWeeklyDays, []string{"grams"}, "Cocaine powder: days used each week, and the amount on a using day.", TOPLowerBetter},
	{"amphetamines", "substance_use", TOPWeeklyDays, []string{"grams", "tablets"}, "Amphetamines: days used each week, and the amount on a using day.", TOPLowerBetter},
	{"cannabis", "substance_use", TOPWeeklyDays, []string{"grams", "spliffs"}, "Cannabis: days used each week, and the amount on a using day.", TOPLowerBetter},
	{"other_substance", "substance_use", TOPWeeklyDays, []string{"grams", "milligrams", "millilitres", "tablets", "spliffs"}, "The other problem substance named in other_substance_name: days used each week, and the amount on a using day.", TOPLowerBetter},
	{"tobacco", "substance_use", TOPWeeklyDays, nil, "Tobacco: days smoked each week.", TOPLowerBetter},
	{"injecting", "injecting", TOPWeeklyDays, nil, "Days injected each week.", TOPLowerBetter},
	{"shared_needles", "injecting", TOPYesNo, nil, "Shared needles or syringes.", TOPLowerBetter},
	{"shared_paraphernalia", "injecting", TOPYesNo, nil, "Shared other injecting paraphernalia (spoons, water, filters).", TOPLowerBetter},
	{"shoplifting", "crime", TOPDays, nil, "Days of shoplifting.", TOPLowerBetter},
	{"drug_selling", "crime", TOPDays, nil, "Days of selling drugs.", TOPLowerBetter},
	{"vehicle_theft", "crime", TOPYesNo, nil, "Theft from or of a vehicle.", TOPLowerBetter},
	{"property_theft", "crime", TOPYesNo, nil, "Other property theft or burglary.", TOPLowerBetter},
	{"fraud", "crime", TOPYesNo, nil, "Fraud, forgery or handling stolen goods.", TOPLowerBetter},
	{"assault", "crime", TOPDays, nil, "Days of committing assault or violence.", TOPLowerBetter},
	{"psychological_health", "health_and_social_functioning", TOPRating, nil, "The client's rating of their psychological health (anxiety, depression, problem emotions and feelings).", TOPHigherBetter},
	{"physical_health", "health_and_social_functioning", TOPRating, nil, "The client's rating of their physical health (extent of physical symptoms and bother from illness).", TOPHigherBetter},
	{"paid_work", "health_and_social_functioning", TOPDays, nil, "Days of paid work.", TOPHigherBetter},
	{"education", "health_and_social_functioning", TOPDays, nil, "Days at college, school or training.", TOPHigherBetter},
	{"acute_housing_problem", "health_and_social_functioning", TOPYesNo, nil, "An acute housing problem (homeless, or no home of their own).", TOPLowerBetter},
	{"eviction_risk", "health_and_social_functioning", TOPYesNo, nil, "At risk of eviction.", TOPLowerBetter},
	{"quality_of_life", "health_and_social_functioning", TOPRating, nil, "The client's rating of their overall quality of life (able to enjoy life, get on with family and partner).", TOPHigherBetter},
}

// TOPItemNames are the items' names, in TOPItems' order.
func TOPItemNames() []string {
	names := make([]string, len(TOPItems))
	for i, it := range TOPItems {
		names[i] = it.Name
	}
	return names
}

// WeekField names an item's field for week w (1–4) of the 28 days.
func (it TOPItem) WeekField(w int) string {
	return it.Name + "_week" + string(rune('0'+w))
}

// Fields are the item's fields in an outcome_review, in order.
//
// The slices of TOPItems' items (found by name) are built once and shared:
// callers must not change them.
func (it TOPItem) Fields() []Field {
	if f, ok := topItemFields[it.Name]; ok {
		return f
	}
	return it.fields()
}

// topItemFields are the fields of each item of TOPItems, by name.
var topItemFields = func() map[string][]Field {
	m := make(map[string][]Field, len(TOPItems))
	for _, it := range TOPItems {
		m[it.Name] = it.fields()
	}
	return m
}()

func (it TOPItem) fields() []Field {
	switch it.Kind {
	case TOPWeeklyDays:
		out := make([]Field, 0, 6)
		for w := 1; w <= 4; w++ {
			out = append(out, Field{Name: it.WeekField(w), Type: Integer, Min: 0, Max: TOPWeekDays,
				Doc: it.Doc + " Week " + string(rune('0'+w)) + " of the 28 days (1 is the earliest)."})
		}
		if len(it.Units) > 0 {
			out = append(out,
				Field{Name: it.Name + "_amount", Type: Decimal, Min: 0, Max: TOPAmountMax, Doc: it.Doc + " The average amount on a using day, in " + it.Name + "_unit."},
				enum(it.Name+"_unit", it.Units, false, it.Doc+" The unit of "+it.Name+"_amount."))
		}
		return out
	case TOPDays:
		return []Field{{Name: it.Name + "_days", Type: Integer, Min: 0, Max: TOPPeriodDays, Doc: it.Doc + " Days in the 28."}}
	case TOPYesNo:
		return []Field{typed(it.Name, Bool, false, it.Doc+" In the 28 days.")}
	case TOPRating:
		return []Field{{Name: it.Name, Type: Integer, Min: 0, Max: TOPRatingMax, Doc: it.Doc + " From 0 (poor) to 20 (good)."}}
	}
	panic("schema: TOP item " + it.Name + " has no kind")
}

// outcomeReview is the outcome_review record type: a TOP interview.
func outcomeReview() RecordType {
	fields := []Field{
		typed("interview_date", Date, true, "The day of the interview; the items cover the 28 days before it."),
		enum("stage", TOPStages, true, "The point of treatment: start, review, exit, or after treatment ended."),
		str("author", 100, true, "The user (the keyworker) who took it."),
		Field{Name: "not_answered", Type: Set, Values: TOPItemNames(), Doc: "The items the client did not answer (distinct from an item not yet filled in)."},
		str("other_substance_name", 200, false, "The other problem substance (other_substance)."),
	}
	for _, it := range TOPItems {
		fields = append(fields, it.Fields()...)
	}
	fields = append(fields, text("notes", "Notes."), deleted())
	return RecordType{Name: "outcome_review", Since: 3, Authorship: AuthorOwns, Doc: "A Treatment Outcomes Profile (TOP) interview: substance use, injecting, crime, and health and social functioning over the 28 days before it.", Fields: allSince(3, fields...)}
}
