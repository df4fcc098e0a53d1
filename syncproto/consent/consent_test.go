package consent

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// The rule, case by case: one scope's status and the day it began.
func TestDerive(t *testing.T) {
	jan, mar, apr, may := day(2026, 1, 10), day(2026, 3, 1), day(2026, 4, 2), day(2026, 5, 20)
	tests := []struct {
		name    string
		records []Record
		today   time.Time
		scope   string
		want    Status
		since   time.Time
		id      string
	}{
		{"no records", nil, may, "gp", NotRecorded, time.Time{}, ""},
		{"given", []Record{{ID: "a", Scope: "gp", Given: jan}}, may, "gp", Current, jan, "a"},
		{"given on today", []Record{{ID: "a", Scope: "gp", Given: may}}, may, "gp", Current, may, "a"},
		{"another scope", []Record{{ID: "a", Scope: "gp", Given: jan}}, may, "police", NotRecorded, time.Time{}, ""},
		{"withdrawn", []Record{{ID: "a", Scope: "gp", Given: jan, Withdrawn: mar}}, may, "gp", Withdrawn, mar, "a"},
		{"withdrawn then re-consented", []Record{
			{ID: "a", Scope: "gp", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "gp", Given: apr},
		}, may, "gp", Current, apr, "b"},
		{"re-consented, then the new one withdrawn", []Record{
			{ID: "a", Scope: "gp", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "gp", Given: apr, Withdrawn: may},
		}, may, "gp", Withdrawn, may, "b"},
		{"a later withdrawal of an older consent stands", []Record{
			{ID: "a", Scope: "gp", Given: jan, Withdrawn: may}, {ID: "b", Scope: "gp", Given: apr},
		}, may, "gp", Withdrawn, may, "a"},
		{"consent dated in the future is not yet current", []Record{{ID: "a", Scope: "gp", Given: day(2026, 5, 21)}}, may, "gp", NotRecorded, time.Time{}, ""},
		{"a future re-consent leaves it withdrawn", []Record{
			{ID: "a", Scope: "gp", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "gp", Given: day(2026, 6, 1)},
		}, may, "gp", Withdrawn, mar, "a"},
		{"a withdrawal dated in the future leaves it current", []Record{{ID: "a", Scope: "gp", Given: jan, Withdrawn: day(2026, 6, 1)}}, may, "gp", Current, jan, "a"},
		{"the future arrives", []Record{{ID: "a", Scope: "gp", Given: jan, Withdrawn: day(2026, 6, 1)}}, day(2026, 6, 1), "gp", Withdrawn, day(2026, 6, 1), "a"},
		{"deleted record is no decision", []Record{{ID: "a", Scope: "gp", Given: jan, Deleted: true}}, may, "gp", NotRecorded, time.Time{}, ""},
		{"a deleted withdrawal no longer withdraws", []Record{
			{ID: "a", Scope: "gp", Given: jan}, {ID: "b", Scope: "gp", Given: jan, Withdrawn: mar, Deleted: true},
		}, may, "gp", Current, jan, "a"},
		{"a deleted re-consent leaves it withdrawn", []Record{
			{ID: "a", Scope: "gp", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "gp", Given: apr, Deleted: true},
		}, may, "gp", Withdrawn, mar, "a"},
		{"same day: withdrawal outranks consent", []Record{
			{ID: "b", Scope: "gp", Given: mar}, {ID: "a", Scope: "gp", Given: jan, Withdrawn: mar},
		}, may, "gp", Withdrawn, mar, "a"},
		{"withdrawn before given counts from the given day", []Record{{ID: "a", Scope: "gp", Given: mar, Withdrawn: jan}}, may, "gp", Withdrawn, mar, "a"},
		{"no given date is no decision", []Record{{ID: "a", Scope: "gp", Withdrawn: jan}}, may, "gp", NotRecorded, time.Time{}, ""},
		{"unknown scope is ignored", []Record{{ID: "a", Scope: "dentist", Given: jan}}, may, "dentist", NotRecorded, time.Time{}, ""},
		{"the clock and zone do not matter", []Record{{ID: "a", Scope: "gp", Given: time.Date(2026, 5, 20, 23, 59, 0, 0, time.FixedZone("x", 5*3600))}},
			day(2026, 5, 20).Add(time.Hour), "gp", Current, may, "a"},
		{"leap day", []Record{{ID: "a", Scope: "gp", Given: day(2028, 2, 29)}}, day(2028, 2, 28), "gp", NotRecorded, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Derive(tt.records, tt.today).Of(tt.scope)
			if got.Status != tt.want || !got.Since.Equal(tt.since) || got.RecordID != tt.id {
				t.Fatalf("got %v since %v (%q), want %v since %v (%q)", got.Status, got.Since, got.RecordID, tt.want, tt.since, tt.id)
			}
		})
	}
}

// The outcome does not depend on the order of the records.
func TestDeriveOrderFree(t *testing.T) {
	recs := []Record{
		{ID: "a", Scope: "gp", Given: day(2026, 1, 1), Withdrawn: day(2026, 2, 1)},
		{ID: "b", Scope: "gp", Given: day(2026, 2, 1)},
		{ID: "c", Scope: "gp", Given: day(2026, 2, 1)},
	}
	want := Derive(recs, day(2026, 3, 1)).Of("gp")
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {2, 0, 1}} {
		var rs []Record
		for _, i := range order {
			rs = append(rs, recs[i])
		}
		if got := Derive(rs, day(2026, 3, 1)).Of("gp"); got != want {
			t.Fatalf("order %v: %+v, want %+v", order, got, want)
		}
	}
	if want.Status != Withdrawn || want.RecordID != "a" {
		t.Fatalf("got %+v", want)
	}
}

// consent_to_share, derived: any partner's consent current; national
// monitoring is not a partner. Excluded: national monitoring withdrawn.
func TestLegacyFlagAndExclusion(t *testing.T) {
	jan, mar, may := day(2026, 1, 1), day(2026, 3, 1), day(2026, 5, 1)
	tests := []struct {
		name            string
		records         []Record
		share, excluded bool
	}{
		{"nothing recorded", nil, false, false},
		{"national monitoring only", []Record{{ID: "a", Scope: "national_monitoring", Given: jan}}, false, false},
		{"one partner", []Record{{ID: "a", Scope: "housing_provider", Given: jan}}, true, false},
		{"every partner withdrawn", []Record{{ID: "a", Scope: "probation", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "job_centre", Given: jan, Withdrawn: mar}}, false, false},
		{"one of two withdrawn", []Record{{ID: "a", Scope: "probation", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "job_centre", Given: jan}}, true, false},
		{"national monitoring withdrawn", []Record{{ID: "a", Scope: "national_monitoring", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "gp", Given: jan}}, true, true},
		{"national monitoring withdrawn then re-given", []Record{{ID: "a", Scope: "national_monitoring", Given: jan, Withdrawn: mar}, {ID: "b", Scope: "national_monitoring", Given: may}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Derive(tt.records, may)
			if got := st.SharesWithAnyPartner(); got != tt.share {
				t.Errorf("SharesWithAnyPartner = %v, want %v", got, tt.share)
			}
			if got := st.Excluded(); got != tt.excluded {
				t.Errorf("Excluded = %v, want %v", got, tt.excluded)
			}
		})
	}
}
