package review

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A client who withdraws consent to national monitoring disappears from
// the contacts export and from every statistic, which count them in
// consent_excluded; consent given again brings them back. A withdrawal
// dated after today, consent to a partner withdrawn, and a deleted
// withdrawal leave them in.
func TestWithdrawnConsentLeavesExports(t *testing.T) {
	w := newQueueWorld(t) // today is 2026-03-16; supA1 reaches c1 (k1, k2), c2 (k3), c6 (k5)
	consent := func(client, scope string, given, withdrawn int) string {
		id := w.dev1.NewID()
		fields := []sample.Field{{Name: "scope", Value: sample.Str(scope)}, {Name: "given_on", Value: sample.Date(2026, 1, given)},
			{Name: "author", Value: sample.Str(w.w1.UserID)}}
		if withdrawn != 0 {
			fields = append(fields, sample.Field{Name: "withdrawn_on", Value: sample.Date(2026, 3, withdrawn)})
		}
		w.push(w.dev1, w.dev1.Record("consent", id, client, fields), nil)
		return id
	}
	exported := func() []string {
		t.Helper()
		var ids []string
		_, err := w.svc.ExportContacts(w.ctx, w.supA1, ExportQuery{From: at(1, 0), To: at(16, 0)}, RowFunc(func(r []string) error {
			ids = append(ids, r[slices.Index(ContactColumns, "contact_id")])
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	stats := func() *v1.GetStatisticsResponse {
		t.Helper()
		st, err := w.svc.GetStatistics(w.ctx, w.supA1, &v1.GetStatisticsRequest{From: timestamppb.New(at(1, 0)), To: timestamppb.New(at(16, 0))})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	check := func(step string, wantIDs []string, contacts, clients, excluded uint32) {
		t.Helper()
		if got := exported(); !slices.Equal(got, wantIDs) {
			t.Errorf("%s: exported %v, want %v", step, got, wantIDs)
		}
		st := stats()
		if st.GetContacts() != contacts || st.GetClients() != clients || st.GetConsentExcluded() != excluded {
			t.Errorf("%s: statistics contacts %d clients %d excluded %d, want %d %d %d", step,
				st.GetContacts(), st.GetClients(), st.GetConsentExcluded(), contacts, clients, excluded)
		}
	}
	all := sorted(w.k1, w.k2, w.k3, w.k5)
	check("no consent recorded", all, 4, 3, 0)

	consent(w.c1, "national_monitoring", 5, 0)
	consent(w.c1, "gp", 5, 10) // a partner's consent withdrawn: still in
	check("national monitoring given", all, 4, 3, 0)

	nm := consent(w.c2, "national_monitoring", 5, 20) // withdrawal dated after today
	check("withdrawal not yet in force", all, 4, 3, 0)

	w.edit(w.dev1, "consent", w.c2, nm, "withdrawn_on", sample.Date(2026, 3, 14), nil)
	check("c2 withdrew", sorted(w.k1, w.k2, w.k5), 3, 2, 1)

	var csv [][]string
	if _, err := w.svc.ExportStatistics(w.ctx, w.supA1, ExportQuery{From: at(1, 0), To: at(16, 0)}, RowFunc(func(r []string) error {
		csv = append(csv, r)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	clientsCol := slices.Index(StatisticsColumns, "clients")
	if len(csv) < 2 || csv[1][0] != "consent_excluded" || csv[1][clientsCol] != "1" || csv[0][clientsCol] != "2" {
		t.Errorf("statistics CSV starts %v", csv[:min(2, len(csv))])
	}
	for _, r := range csv {
		if slices.Contains(r, w.c2) {
			t.Errorf("the statistics CSV names the excluded client: %v", r)
		}
	}

	again := w.dev1.NewID()
	w.push(w.dev1, w.dev1.Record("consent", again, w.c2, []sample.Field{{Name: "scope", Value: sample.Str("national_monitoring")},
		{Name: "given_on", Value: sample.Date(2026, 3, 15)}, {Name: "author", Value: sample.Str(w.w1.UserID)}}), nil)
	check("c2 consented again", all, 4, 3, 0)

	w.edit(w.dev1, "consent", w.c2, again, "deleted", &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: "entered_in_error"}}}, nil)
	check("the re-consent deleted", sorted(w.k1, w.k2, w.k5), 3, 2, 1)
}
