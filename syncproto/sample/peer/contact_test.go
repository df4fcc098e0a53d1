package peer

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

func TestNextContactDrawOrder(t *testing.T) {
	plain, withMode := New(DefaultSeed), New(DefaultSeed)
	first, c := plain.Next(), withMode.NextContact()
	if c.Record != first {
		t.Fatalf("first contact %+v, want the workload's first record %+v", c.Record, first)
	}
	// The mode is the draw after the record's: the plain generator's next
	// draw.
	if want := schema.ContactModes[plain.r.Next()%uint32(len(schema.ContactModes))]; c.Mode != want {
		t.Fatalf("mode %q, want %q (the draw after the record's)", c.Mode, want)
	}
	if got, want := withMode.NextContact().Record, plain.Next(); got != want {
		t.Fatalf("second contact %+v, want %+v (both after the same draws)", got, want)
	}
}

func TestContactFields(t *testing.T) {
	reg := schema.Builtin()
	author := uuid.NewString()
	dev := sample.NewDevice(author, time.Now, 1)
	g := New(DefaultSeed)
	var followUps, modes int
	seen := map[string]bool{}
	for range 500 {
		c := g.NextContact()
		fields := c.Fields(author)
		got := map[string]any{}
		for _, ch := range dev.Record("contact", c.ID, g.Clients[c.Client], fields) {
			if iss := reg.CheckChange(schema.CurrentVersion, ch); iss != nil {
				t.Fatalf("contact %s: %s: %s", c.ID, ch.GetField(), iss.Message)
			}
			got[ch.GetField()] = ch.GetValue()
		}
		at, err := time.Parse(time.RFC3339, c.OccurredAt)
		if err != nil || !fields[0].Value.GetTimestampValue().AsTime().Equal(at) {
			t.Fatalf("occurred_at %v, want %s", fields[0].Value, c.OccurredAt)
		}
		if _, ok := got["follow_up_date"]; ok != c.FollowUp {
			t.Fatalf("follow_up %v but follow_up_date present %v", c.FollowUp, ok)
		}
		if c.FollowUp {
			followUps++
			d := fields[len(fields)-1].Value.GetDateValue()
			want := at.AddDate(0, 0, 7)
			if int(d.GetYear()) != want.Year() || int(d.GetMonth()) != int(want.Month()) || int(d.GetDay()) != want.Day() {
				t.Fatalf("follow_up_date %v, want %s", d, want.Format(time.DateOnly))
			}
		}
		if !slices.Contains(schema.ContactModes, c.Mode) {
			t.Fatalf("mode %q is not ours", c.Mode)
		}
		if !seen[c.Mode] {
			seen[c.Mode] = true
			modes++
		}
	}
	if followUps == 0 || followUps == 500 || modes != len(schema.ContactModes) {
		t.Fatalf("500 contacts: %d follow-ups, %d of %d modes: the draws are not spread", followUps, modes, len(schema.ContactModes))
	}
}
