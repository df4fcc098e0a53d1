package schema

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// FuzzCheckChange feeds arbitrary bytes through the protobuf decoder and the
// validator: neither may panic, and whatever the validator accepts must meet
// the invariants the store relies on.
func FuzzCheckChange(f *testing.F) {
	for _, ch := range []*v1.Change{
		change("contact", "category", strV("housing")),
		change("contact", "duration_minutes", intV(30)),
		change("client", "risk_flags", &v1.Value{Kind: &v1.Value_SetRemove{SetRemove: &v1.SetRemove{Element: "overdose", Observed: []*v1.Stamp{{Time: 5, Replica: "d"}}}}}),
		change("client", "date_of_birth", dateV(1990, 1, 1)),
		change("goal", "deleted", &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: "entered_in_error"}}}),
	} {
		b, err := proto.Marshal(ch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(1))
	}
	reg := Builtin()
	f.Fuzz(func(t *testing.T, data []byte, version uint32) {
		var ch v1.Change
		if err := proto.Unmarshal(data, &ch); err != nil {
			return
		}
		iss := reg.CheckChange(version, &ch)
		if iss != nil {
			if iss.Problem == v1.Problem_PROBLEM_UNSPECIFIED || iss.Message == "" {
				t.Fatalf("issue without problem or message: %+v", iss)
			}
			return
		}
		rt, ok := reg.Type(ch.GetRecordType())
		if !ok || version < rt.Since {
			t.Fatalf("accepted unknown record type %q at version %d", ch.GetRecordType(), version)
		}
		fd, ok := rt.Field(ch.GetField())
		if !ok || version < fd.Since {
			t.Fatalf("accepted unknown field %q", ch.GetField())
		}
		if !ValidID(ch.GetRecordId()) || !ValidID(ch.GetClientId()) || ch.GetDeviceSeq() == 0 || ch.GetStamp().GetTime() == 0 {
			t.Fatal("accepted a malformed change")
		}
		if s := ch.GetValue().GetStringValue(); strings.ContainsRune(s, 0) {
			t.Fatal("accepted a NUL in a string")
		}
	})
}
