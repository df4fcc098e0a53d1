package caseload

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// flags is a risk_flags field holding each element with its additions.
func flags(s *v1.Stamp, a *v1.Author, adds map[string][]*v1.Stamp) *v1.FieldState {
	st := &v1.SetState{}
	names := make([]string, 0, len(adds))
	for n := range adds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		st.Elements = append(st.Elements, &v1.SetElement{Element: n, Adds: adds[n]})
	}
	return withStamp(field("risk_flags", &v1.Value{Kind: &v1.Value_SetState{SetState: st}}), s, a)
}

// RemoveRiskFlag removes only the additions the device has seen: a flag
// another replica added concurrently (arriving in a later pull, before
// the remove is sent) survives; one the device saw stays removed.
func TestRemoveRiskFlagRemovesOnlyObservedAdds(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	s := stampAt(base, otherReplica)
	seen := stampAt(base.Add(time.Minute), otherReplica)
	concurrent := stampAt(base.Add(2*time.Minute), "0190a0b0-0000-7000-8000-0000000000bb")

	tests := []struct {
		name  string
		later map[string][]*v1.Stamp // overdose's additions in the later pull
		want  []string
	}{
		{"no later pull", nil, []string{"lone_working"}},
		{"the same additions again", map[string][]*v1.Stamp{"overdose": {seen}, "lone_working": {s}}, []string{"lone_working"}},
		{"a concurrent add survives", map[string][]*v1.Stamp{"overdose": {seen, concurrent}, "lone_working": {s}}, []string{"lone_working", "overdose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := memDevice(t)
			enrol(t, d)
			c := newID()
			pull(t, d, snapshot(c, clientRecord(c, s, otherAuthor,
				flags(seen, otherAuthor, map[string][]*v1.Stamp{"overdose": {seen}, "lone_working": {s}}))))
			cl, err := d.Client(ctx, c)
			must(t, err)
			if !slices.Equal(cl.RiskFlags, []string{"lone_working", "overdose"}) {
				t.Fatalf("pulled flags %v", cl.RiskFlags)
			}

			must(t, d.RemoveRiskFlag(ctx, c, "overdose"))
			chs := outbox(t, d)
			if len(chs) != 1 {
				t.Fatalf("outbox %v, want one remove", chs)
			}
			rm := chs[0].GetValue().GetSetRemove()
			if rm.GetElement() != "overdose" || len(rm.GetObserved()) != 1 || !proto.Equal(rm.GetObserved()[0], seen) {
				t.Fatalf("remove %v, want overdose observing %v", rm, seen)
			}
			cl, err = d.Client(ctx, c)
			must(t, err)
			if !slices.Equal(cl.RiskFlags, []string{"lone_working"}) || !cl.Pending {
				t.Fatalf("after the remove: flags %v pending %v", cl.RiskFlags, cl.Pending)
			}

			if tt.later != nil {
				pull(t, d, delta(c, clientRecord(c, s, otherAuthor, flags(concurrent, otherAuthor, tt.later))))
			}
			cl, err = d.Client(ctx, c)
			must(t, err)
			if !slices.Equal(cl.RiskFlags, tt.want) {
				t.Fatalf("flags %v, want %v", cl.RiskFlags, tt.want)
			}
		})
	}
}

// Removing a flag the client does not have writes nothing; a flag added and
// removed on the device is gone.
func TestRiskFlagsLocally(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	must(t, d.RemoveRiskFlag(ctx, c, "violence"))
	if n := len(outbox(t, d)); n != 0 {
		t.Fatalf("removing an absent flag queued %d changes", n)
	}
	must(t, d.AddRiskFlag(ctx, c, "violence"))
	must(t, d.AddRiskFlag(ctx, c, "self_harm"))
	must(t, d.RemoveRiskFlag(ctx, c, "violence"))
	cl, err := d.Client(ctx, c)
	must(t, err)
	if !slices.Equal(cl.RiskFlags, []string{"self_harm"}) {
		t.Fatalf("flags %v, want [self_harm]", cl.RiskFlags)
	}
	// Added again after the remove: a new addition, not covered by it.
	must(t, d.AddRiskFlag(ctx, c, "violence"))
	cl, err = d.Client(ctx, c)
	must(t, err)
	if !slices.Equal(cl.RiskFlags, []string{"self_harm", "violence"}) {
		t.Fatalf("flags %v, want [self_harm violence]", cl.RiskFlags)
	}
}
