package schema

import (
	"slices"
	"testing"
)

// The registry as of version 1 is the schema before appointments: the
// same record types and fields as version 1 had, none of version 2's.
func TestAsOf(t *testing.T) {
	reg := Builtin()
	for _, tc := range []struct {
		version   uint32
		wantTypes []string
	}{
		{1, []string{"client", "contact", "goal", "referral", "review_note"}},
		{2, []string{"appointment", "client", "contact", "goal", "referral", "review_note"}},
		{3, []string{"appointment", "client", "contact", "goal", "outcome_review", "referral", "review_note"}},
	} {
		old, err := reg.AsOf(tc.version)
		if err != nil {
			t.Fatalf("AsOf(%d): %v", tc.version, err)
		}
		var got []string
		for _, rt := range old.Types() {
			got = append(got, rt.Name)
			for _, f := range rt.Fields {
				if f.Since > tc.version {
					t.Errorf("AsOf(%d): %s.%s is from version %d", tc.version, rt.Name, f.Name, f.Since)
				}
			}
			cur, _ := reg.Type(rt.Name)
			if want := countSince(cur.Fields, tc.version); len(rt.Fields) != want {
				t.Errorf("AsOf(%d): %s has %d fields, want %d", tc.version, rt.Name, len(rt.Fields), want)
			}
		}
		if !slices.Equal(got, tc.wantTypes) {
			t.Errorf("AsOf(%d) types = %v, want %v", tc.version, got, tc.wantTypes)
		}
		if old.Version() != tc.version {
			t.Errorf("AsOf(%d).Version() = %d", tc.version, old.Version())
		}
	}
	for _, v := range []uint32{0, CurrentVersion + 1} {
		if _, err := reg.AsOf(v); err == nil {
			t.Errorf("AsOf(%d) succeeded, want an error", v)
		}
	}
	if v1reg, _ := reg.AsOf(1); v1reg != nil {
		if _, ok := v1reg.Type("appointment"); ok {
			t.Error("AsOf(1) knows appointments")
		}
	}
}

func countSince(fields []Field, version uint32) int {
	n := 0
	for _, f := range fields {
		if f.Since <= version {
			n++
		}
	}
	return n
}
