package schema

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The built-in schema's field writers: exactly these fields are restricted,
// to exactly these roles; every other field is writable by every role.
func TestBuiltinWriters(t *testing.T) {
	const (
		w = v1.Role_ROLE_WORKER
		s = v1.Role_ROLE_SUPERVISOR
		a = v1.Role_ROLE_ADMIN
	)
	want := map[string][]v1.Role{
		"client.area":                 {a},
		"client.status":               {s, a},
		"client.deleted":              {s, a},
		"review_note.subject_id":      {s, a},
		"review_note.text":            {s, a},
		"review_note.state":           {s, a},
		"review_note.deleted":         {s, a},
		"review_note.worker_response": {w},
		"consent.deleted":             {s, a},
		"risk_assessment.deleted":     {s, a},
		"court_order.deleted":         {s, a},
	}
	got := map[string][]v1.Role{}
	for _, rt := range Builtin().Types() {
		for _, f := range rt.Fields {
			if len(f.Writers) > 0 {
				got[rt.Name+"."+f.Name] = f.Writers
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("%s written by %v, want %v", k, got[k], want[k])
		}
	}
	for k, roles := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s is restricted to %v, which this test does not expect", k, roles)
		}
	}
}

// MayWrite follows the writers, per role, and leaves what the registry does
// not know to validation.
func TestMayWrite(t *testing.T) {
	reg := Builtin()
	tests := []struct {
		role              v1.Role
		recordType, field string
		want              bool
	}{
		{v1.Role_ROLE_WORKER, "client", "keyworker_notes", true},
		{v1.Role_ROLE_WORKER, "client", "status", false},
		{v1.Role_ROLE_SUPERVISOR, "client", "status", true},
		{v1.Role_ROLE_SUPERVISOR, "client", "area", false},
		{v1.Role_ROLE_ADMIN, "client", "area", true},
		{v1.Role_ROLE_WORKER, "review_note", "worker_response", true},
		{v1.Role_ROLE_ADMIN, "review_note", "worker_response", false},
		{v1.Role_ROLE_WORKER, "review_note", "text", false},
		{v1.Role_ROLE_WORKER, "contact", "deleted", true},
		{v1.Role_ROLE_WORKER, "consent", "deleted", false},
		{v1.Role_ROLE_SUPERVISOR, "consent", "deleted", true},
		{v1.Role_ROLE_WORKER, "consent", "withdrawn_on", true},
		{v1.Role_ROLE_WORKER, "risk_assessment", "deleted", false},
		{v1.Role_ROLE_ADMIN, "risk_assessment", "deleted", true},
		{v1.Role_ROLE_WORKER, "risk_assessment", "overdose_level", true},
		{v1.Role_ROLE_UNSPECIFIED, "client", "status", false},
		{v1.Role_ROLE_UNSPECIFIED, "contact", "notes", true},
		{v1.Role_ROLE_WORKER, "no_such_type", "x", true},
		{v1.Role_ROLE_WORKER, "client", "no_such_field", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s.%s", tt.role, tt.recordType, tt.field), func(t *testing.T) {
			if got := reg.MayWrite(tt.role, tt.recordType, tt.field); got != tt.want {
				t.Fatalf("MayWrite = %v, want %v", got, tt.want)
			}
		})
	}
}

// A registry keeps its own copy of the writers, so changing the slice a
// definition was built from changes nothing.
func TestWritersAreCopied(t *testing.T) {
	writers := []v1.Role{v1.Role_ROLE_ADMIN}
	reg := MustNew(1, 1, RecordType{Name: "x", Since: 1, Fields: []Field{
		{Name: "deleted", Type: Tombstone, Since: 1},
		{Name: "a", Type: Bool, Since: 1, Writers: writers},
	}})
	writers[0] = v1.Role_ROLE_WORKER
	if reg.MayWrite(v1.Role_ROLE_WORKER, "x", "a") || !reg.MayWrite(v1.Role_ROLE_ADMIN, "x", "a") {
		t.Fatal("the registry's writers changed with the definition's slice")
	}
}
