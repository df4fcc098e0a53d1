package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The network drops requests and answers, duplicates and delays them, while
// a worker pushes and a supervisor pulls: retried syncs end with every
// contact on the server exactly once and both devices agreeing.
func TestSDKNetworkFaults(t *testing.T) {
	s := startServer(t)
	proxy := newFaultProxy(t, s.URL, 7)
	a := newArea(t, s)
	a.url = proxy.URL
	ctx := context.Background()
	team := a.team("Camden Outreach")
	w, sup := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Kelly", "Evans")
	a.assign(c, w)
	w.mustSync(t)
	sup.mustSync(t)

	proxy.Set(Faults{DropRequest: 0.2, DropResponse: 0.3, Duplicate: 0.3, Delay: 0.3, MaxDelay: 20 * time.Millisecond})
	var logged []string
	for round := range 6 {
		for i := range 15 {
			id, err := w.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now().Add(-time.Duration(round*15+i) * time.Minute),
				Category: "general", Mode: "phone", Outcome: "Checked in"})
			must(t, err)
			logged = append(logged, id)
		}
		syncUntilClean(t, w)
		syncUntilClean(t, sup)
	}
	proxy.Set(Faults{})
	w.mustSync(t)
	sup.mustSync(t)
	counts := proxy.Counts()
	if counts["drop_response"] == 0 || counts["duplicate"] == 0 || counts["drop_request"] == 0 {
		t.Fatalf("the proxy injected too few faults to mean anything: %v", counts)
	}
	for _, d := range []*device{w, sup} {
		tl, err := d.Timeline(ctx, c)
		must(t, err)
		var ids []string
		for _, x := range tl.Contacts {
			ids = append(ids, x.ID)
			if x.Pending {
				t.Errorf("contact %s still pending after a clean sync", x.ID)
			}
		}
		slices.Sort(ids)
		want := slices.Clone(logged)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("device holds %d contacts, want the %d logged (no loss, no duplicates)", len(ids), len(want))
		}
	}
	if st := w.Status(); st.Pending != 0 || st.Rejected != 0 {
		t.Fatalf("worker status after faults: %+v", st)
	}
	t.Logf("faults injected: %v", counts)
}

// syncUntilClean retries a sync through faults, as Run would.
func syncUntilClean(t *testing.T, d *device) {
	t.Helper()
	for attempt := range 50 {
		if _, err := d.Sync(context.Background()); err == nil {
			return
		} else if attempt == 49 {
			t.Fatalf("sync never succeeded through the faults: %v", err)
		}
	}
}
