package access

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Who may do each action, by role: worker, supervisor, admin.
func TestAllow(t *testing.T) {
	type may [3]bool // worker, supervisor, admin
	want := map[Action]may{
		DescribeArea:     {true, true, true},
		CreateTeams:      {false, false, true},
		ListTeams:        {false, true, true},
		InvitePeople:     {false, true, true},
		ListInvites:      {false, true, true},
		RevokeInvites:    {false, true, true},
		ListUsers:        {false, true, true},
		DisableUsers:     {false, false, true},
		CreateClients:    {false, true, true},
		ListClients:      {false, true, true},
		AssignClients:    {false, true, true},
		UnassignClients:  {false, true, true},
		ReviewContacts:   {false, true, true},
		ReadTimelines:    {false, true, true},
		ReviewConflicts:  {false, true, true},
		ResolveConflicts: {false, true, true},
		ReadStatistics:   {false, true, true},
		Export:           {false, true, true},
		TakeBackups:      {false, false, true},
		SubjectAccess:    {false, false, true},
		SetRetention:     {false, false, true},
		ReadAudit:        {false, false, true},
		ViewCaseload:     {false, true, true},
		CloseClients:     {false, true, true},
		ManageDevices:    {false, false, true},
		ReadOrderReports: {true, true, true},
		SetTOPInterval:   {false, false, true},
	}
	if got := slices.Sorted(maps.Keys(actions)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("actions %v, the test knows %v", got, slices.Sorted(maps.Keys(want)))
	}
	roles := []identity.Role{identity.Worker, identity.Supervisor, identity.Admin}
	for a, w := range want {
		for i, r := range roles {
			t.Run(fmt.Sprintf("%s/%s", a, r), func(t *testing.T) {
				err := Allow(&identity.Identity{UserID: "u", Role: r}, a)
				if got := err == nil; got != w[i] {
					t.Fatalf("Allow = %v, want allowed %v", err, w[i])
				}
				if err != nil && (errkind.Of(err) != errkind.Forbidden || err.Error() != "a "+r.String()+" may not "+a.String()) {
					t.Fatalf("refusal %q (kind %v), want Forbidden naming the role and the action", err, errkind.Of(err))
				}
			})
		}
	}
	for _, a := range []Action{DescribeArea, CreateTeams} {
		if err := Allow(nil, a); err != ErrSignIn {
			t.Errorf("Allow(nil, %s) = %v, want ErrSignIn", a, err)
		}
		if err := Allow(&identity.Identity{UserID: "u"}, a); errkind.Of(err) != errkind.Forbidden {
			t.Errorf("Allow(no role, %s) = %v, want Forbidden", a, err)
		}
	}
}

// Supervisors' and admins' sync reads are audited page by page; a
// worker's reads of their own caseload are not.
func TestSyncReadsAudited(t *testing.T) {
	for _, tc := range []struct {
		id   *identity.Identity
		want bool
	}{
		{nil, false},
		{&identity.Identity{Role: identity.Worker}, false},
		{&identity.Identity{Role: identity.Supervisor}, true},
		{&identity.Identity{Role: identity.Admin}, true},
	} {
		if got := SyncReadsAudited(tc.id); got != tc.want {
			t.Errorf("SyncReadsAudited(%+v) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// Every procedure of the API has a rule, and only the ceremonies and
// Refresh are public.
func TestProcedures(t *testing.T) {
	_ = v1.File_throughcare_v1_sync_proto // registers the descriptors
	var all []string
	protoregistry.GlobalFiles.RangeFilesByPackage("throughcare.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				all = append(all, fmt.Sprintf("/%s/%s", sd.FullName(), sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	if len(all) == 0 {
		t.Fatal("no procedures in the descriptors")
	}
	slices.Sort(all)
	if got := slices.Sorted(maps.Keys(procedures)); !slices.Equal(got, all) {
		t.Fatalf("the policy has rules for\n%v\nthe API's procedures are\n%v", got, all)
	}
	public := []string{
		"/throughcare.v1.AuthService/BeginEnrollment", "/throughcare.v1.AuthService/BeginLogin",
		"/throughcare.v1.AuthService/FinishEnrollment", "/throughcare.v1.AuthService/FinishLogin",
		"/throughcare.v1.AuthService/Refresh",
	}
	if got := slices.Sorted(maps.Keys(PublicProcedures())); !slices.Equal(got, public) {
		t.Fatalf("public procedures %v, want %v", got, public)
	}
	for _, p := range all {
		r, ok := Procedure(p)
		if !ok || Public(p) != slices.Contains(public, p) {
			t.Errorf("%s: rule %+v (known %v), public %v", p, r, ok, Public(p))
		}
		if r.Public && r.Action != 0 {
			t.Errorf("%s is public but names an action", p)
		}
		if _, known := actions[r.Action]; r.Action != 0 && !known {
			t.Errorf("%s names an unknown action %d", p, r.Action)
		}
	}
	if _, ok := Procedure("/throughcare.v1.SyncService/Nothing"); ok || Public("/throughcare.v1.SyncService/Nothing") {
		t.Error("an unknown procedure has a rule")
	}
}
