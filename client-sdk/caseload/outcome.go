package caseload

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// OutcomeReview is a Treatment Outcomes Profile (TOP) interview: the
// client's answers about the 28 days before InterviewDate. Its items are
// schema.TOPItems; Stage is one of schema.TOPStages.
type OutcomeReview struct {
	ID, ClientID  string
	InterviewDate Date
	Stage         string
	// Answers holds the items answered, by item name.
	Answers map[string]TOPAnswer
	// NotAnswered are the items the client did not answer (distinct from
	// items not yet filled in, which are in neither).
	NotAnswered []string
	// OtherSubstance names the substance of the other_substance item.
	OtherSubstance string
	Notes          string

	// Set when read.
	Author           string
	Deleted, Pending bool
	Conflicts        []Conflict
}

// TOPAnswer is the answer to one item; which parts apply depends on the
// item's kind (schema.TOPKind).
type TOPAnswer struct {
	// Weeks are the days in each week, earliest first (TOPWeeklyDays).
	Weeks [4]int
	// Amount is the average amount on a using day as a decimal ("2.5"),
	// in Unit (TOPWeeklyDays items with units; optional).
	Amount, Unit string
	// Days are days in the 28 (TOPDays).
	Days int
	// Rating is 0 (poor) to 20 (good) (TOPRating).
	Rating int
	// Yes is the answer to a yes/no item (TOPYesNo).
	Yes bool
}

// topItems are schema.TOPItems by name.
var topItems = func() map[string]schema.TOPItem {
	m := make(map[string]schema.TOPItem, len(schema.TOPItems))
	for _, it := range schema.TOPItems {
		m[it.Name] = it
	}
	return m
}()

// RecordOutcomeReview records a TOP interview for a client on the caseload
// and returns its id; the author is the signed-in user. Every answer is
// checked against its item's range before anything is queued (the error
// names the field, never the value).
func (d *Device) RecordOutcomeReview(ctx context.Context, clientID string, r OutcomeReview) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if r.InterviewDate.IsZero() {
		return "", fmt.Errorf("caseload: %w: a TOP needs the interview date", ErrInvalid)
	}
	edits := []Edit{
		{"interview_date", DateValue(r.InterviewDate)},
		{"stage", String(r.Stage)},
		{"author", String(d.UserID())},
	}
	if r.OtherSubstance != "" {
		edits = append(edits, Edit{"other_substance_name", String(r.OtherSubstance)})
	}
	if r.Notes != "" {
		edits = append(edits, Edit{"notes", String(r.Notes)})
	}
	for _, name := range slices.Sorted(maps.Keys(r.Answers)) {
		it, ok := topItems[name]
		if !ok {
			return "", fmt.Errorf("caseload: %w: %q is not a TOP item", ErrInvalid, clipName(name))
		}
		if slices.Contains(r.NotAnswered, name) {
			return "", fmt.Errorf("caseload: %w: TOP item %s is both answered and not answered", ErrInvalid, name)
		}
		edits = append(edits, answerEdits(it, r.Answers[name])...)
	}
	for _, name := range r.NotAnswered {
		if _, ok := topItems[name]; !ok {
			return "", fmt.Errorf("caseload: %w: %q is not a TOP item", ErrInvalid, clipName(name))
		}
		edits = append(edits, Edit{"not_answered", AddTo(name)})
	}
	id := newID()
	return id, d.writeAction(ctx, recordEdits{"outcome_review", clientID, id, edits})
}

// answerEdits are the writes of an answer to an item.
func answerEdits(it schema.TOPItem, a TOPAnswer) []Edit {
	switch it.Kind {
	case schema.TOPWeeklyDays:
		var out []Edit
		for w := 1; w <= 4; w++ {
			out = append(out, Edit{it.WeekField(w), Int(int64(a.Weeks[w-1]))})
		}
		if a.Amount != "" {
			out = append(out, Edit{it.Name + "_amount", Decimal(a.Amount)})
		}
		if a.Unit != "" {
			out = append(out, Edit{it.Name + "_unit", String(a.Unit)})
		}
		return out
	case schema.TOPDays:
		return []Edit{{it.Name + "_days", Int(int64(a.Days))}}
	case schema.TOPRating:
		return []Edit{{it.Name, Int(int64(a.Rating))}}
	default: // schema.TOPYesNo
		return []Edit{{it.Name, Bool(a.Yes)}}
	}
}

// OutcomeReviews returns a client's TOPs, oldest interview first.
func (d *Device) OutcomeReviews(ctx context.Context, clientID string) ([]OutcomeReview, error) {
	tl, err := d.Timeline(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return tl.OutcomeReviews, nil
}

func toOutcomeReview(clientID string, r *localRecord) OutcomeReview {
	st := r.state
	o := OutcomeReview{
		ID: st.GetRecordId(), ClientID: clientID, InterviewDate: date(st, "interview_date"), Stage: str(st, "stage"),
		NotAnswered: members(st, "not_answered"), OtherSubstance: str(st, "other_substance_name"), Notes: str(st, "notes"),
		Author: str(st, "author"), Deleted: merge.IsDeleted(st), Pending: r.pending, Conflicts: conflicts(clientID, st),
		Answers: map[string]TOPAnswer{},
	}
	for _, it := range schema.TOPItems {
		if slices.Contains(o.NotAnswered, it.Name) {
			continue // not answered, whatever a concurrent edit wrote
		}
		if a, ok := readAnswer(st, it); ok {
			o.Answers[it.Name] = a
		}
	}
	return o
}

// readAnswer reads an item's answer from a record: ok if any of its fields
// is set.
func readAnswer(st *v1.RecordState, it schema.TOPItem) (TOPAnswer, bool) {
	var a TOPAnswer
	set := false
	for _, f := range it.Fields() {
		v := fieldValue(st, f.Name)
		if v == nil {
			continue
		}
		set = true
		switch {
		case strings.HasSuffix(f.Name, "_amount"):
			a.Amount = v.GetDecimalValue()
		case strings.HasSuffix(f.Name, "_unit"):
			a.Unit = v.GetStringValue()
		case it.Kind == schema.TOPWeeklyDays:
			a.Weeks[f.Name[len(f.Name)-1]-'1'] = int(v.GetIntegerValue())
		case it.Kind == schema.TOPDays:
			a.Days = int(v.GetIntegerValue())
		case it.Kind == schema.TOPRating:
			a.Rating = int(v.GetIntegerValue())
		case it.Kind == schema.TOPYesNo:
			a.Yes = v.GetBoolValue()
		}
	}
	return a, set
}

func sortOutcomeReviews(rs []OutcomeReview) {
	slices.SortFunc(rs, func(a, b OutcomeReview) int {
		return cmp.Or(a.InterviewDate.Compare(b.InterviewDate), strings.Compare(a.ID, b.ID))
	})
}

// clipName shortens a caller's unknown name before it goes in an error.
func clipName(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
