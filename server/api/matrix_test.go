package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The callers of the matrix.
const (
	anonymous  = iota
	workerRole // w1: team A1, holds c1
	superRole  // supA1: supervises A1
	adminRole  // adminA: area A
	nRoles
)

var roleNames = [nRoles]string{"anonymous", "worker", "supervisor", "admin"}

// The targets of a cell (see matrix_world_test.go).
const (
	own = iota
	teamMate
	otherTeam
	otherArea
	nTargets
)

var targetNames = [nTargets]string{"own", "team-mate", "other-team", "other-area"}

// Outcomes. An error is its Connect code; a call that worked is "ok", or
// says whether the target was visible ("sees"/"hidden"), or for a push the
// change's verdict.
const (
	ok       = "ok"
	sees     = "sees"
	hidden   = "hidden"
	applied  = "applied"
	notFound = "not_found"
	denied   = "permission_denied"
	unauth   = "unauthenticated"
	refused  = "rejected:not_found"
)

// row is a procedure's expected outcome by caller, then target.
type row [nRoles][nTargets]string

// all: the same answer whatever the target.
func all(s string) [nTargets]string { return [nTargets]string{s, s, s, s} }

// mine: in, for the caller's own caseload (or device) only.
func mine(in, out string) [nTargets]string { return [nTargets]string{in, out, out, out} }

// team: in, for the caller's team.
func team(in, out string) [nTargets]string { return [nTargets]string{in, in, out, out} }

// area: in, for the caller's area.
func area(in, out string) [nTargets]string { return [nTargets]string{in, in, in, out} }

// expect is the access policy, one row per procedure. Public procedures
// (the ceremonies and Refresh) answer the same with or without a session;
// everything else needs one. Out of reach is NotFound; a role that may not
// use a procedure at all is PermissionDenied.
var expect = map[string]row{
	// Callers: anonymous, worker, supervisor, admin.
	"throughcare.v1.AuthService/BeginEnrollment":  {all(ok), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/FinishEnrollment": {all(ok), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/BeginLogin":       {all(ok), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/FinishLogin":      {all(ok), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/Refresh":          {all(ok), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/Logout":           {all(unauth), all(ok), all(ok), all(ok)},
	"throughcare.v1.AuthService/ListDevices":      {all(unauth), mine(sees, hidden), mine(sees, hidden), mine(sees, hidden)},
	"throughcare.v1.AuthService/RevokeDevice":     {all(unauth), mine(ok, notFound), mine(ok, notFound), mine(ok, notFound)},

	"throughcare.v1.AdminService/GetArea":        {all(unauth), all(ok), all(ok), all(ok)},
	"throughcare.v1.AdminService/CreateTeam":     {all(unauth), all(denied), all(denied), all(ok)},
	"throughcare.v1.AdminService/ListTeams":      {all(unauth), all(denied), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.AdminService/CreateInvite":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/ListInvites":    {all(unauth), all(denied), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.AdminService/RevokeInvite":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/ListUsers":      {all(unauth), all(denied), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.AdminService/DisableUser":    {all(unauth), all(denied), all(denied), area(ok, notFound)},
	"throughcare.v1.AdminService/CreateClient":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/ListClients":    {all(unauth), all(denied), team(sees, notFound), area(sees, notFound)},
	"throughcare.v1.AdminService/AssignClient":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/UnassignClient": {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	// A backup is of the whole store, sealed with the server's key, which
	// never leaves it: the admin who takes one cannot read it.
	"throughcare.v1.AdminService/StreamBackup":  {all(unauth), all(denied), all(denied), all(ok)},
	"throughcare.v1.AdminService/ExportSubject": {all(unauth), all(denied), all(denied), area(ok, notFound)},
	"throughcare.v1.AdminService/SetRetention":  {all(unauth), all(denied), all(denied), all(ok)},
	"throughcare.v1.AdminService/ListAudit":     {all(unauth), all(denied), all(denied), area(ok, notFound)},

	"throughcare.v1.AdminService/CloseClient":      {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/ListUserDevices":  {all(unauth), all(denied), all(denied), area(ok, notFound)},
	"throughcare.v1.AdminService/RevokeUserDevice": {all(unauth), all(denied), all(denied), area(ok, notFound)},

	"throughcare.v1.SyncService/Push":      {all(unauth), mine(applied, refused), team(applied, refused), area(applied, refused)},
	"throughcare.v1.SyncService/Pull":      {all(unauth), mine(sees, hidden), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.SyncService/Subscribe": {all(unauth), mine(sees, hidden), team(sees, hidden), area(sees, hidden)},

	"throughcare.v1.ReviewService/ListContacts":    {all(unauth), all(denied), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.ReviewService/GetTimeline":     {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.ReviewService/ReviewContact":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.ReviewService/ListConflicts":   {all(unauth), all(denied), team(sees, hidden), area(sees, hidden)},
	"throughcare.v1.ReviewService/ResolveConflict": {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.ReviewService/GetStatistics":   {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.ReviewService/GetCaseload":     {all(unauth), all(denied), team(sees, notFound), area(sees, notFound)},

	"throughcare.v1.ReviewService/GetOutcomeMovement": {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
	// Court order reports: workers for the clients assigned to them now.
	"throughcare.v1.ReviewService/GetOrderReport": {all(unauth), mine(ok, notFound), team(ok, notFound), area(ok, notFound)},
	"throughcare.v1.AdminService/SetTOPInterval":  {all(unauth), all(denied), all(denied), all(ok)},
	"throughcare.v1.ReviewService/ListTOPIssues":  {all(unauth), all(denied), team(ok, notFound), area(ok, notFound)},
}

// procedures lists every procedure of every service in throughcare.v1, from
// the descriptors: a new RPC appears here whether or not anyone wrote a row
// for it.
func procedures(t *testing.T) []string {
	t.Helper()
	var out []string
	protoregistry.GlobalFiles.RangeFilesByPackage("throughcare.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, fmt.Sprintf("%s/%s", sd.FullName(), sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatal("no procedures found in the descriptors")
	}
	return out
}

// TestAccessMatrix calls every procedure as every caller against every
// target and checks the answer against the policy above, on the embedded
// Badger store.
func TestAccessMatrix(t *testing.T) { runMatrix(t, nil) }

// TestAccessMatrixPostgres runs the same cells against the same policy on
// a server whose store is PostgreSQL (a pgtest database): the policy is the
// server's, whichever store holds the directory.
func TestAccessMatrixPostgres(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	db, err := pgstore.Open(context.Background(), pgstore.Options{URL: url})
	if err != nil {
		t.Fatalf("opening PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing PostgreSQL: %v", err)
		}
	})
	runMatrix(t, db)
}

// runMatrix runs every cell on a server over st (nil: a Badger store in
// memory).
func runMatrix(t *testing.T, st servertest.Store) {
	_ = v1.File_throughcare_v1_sync_proto // the descriptors are registered by the generated package
	procs := procedures(t)
	for _, p := range procs {
		if _, ok := expect[p]; !ok {
			t.Errorf("%s has no row in the access matrix: add one to expect and a call to cells", p)
		}
		if _, ok := cells[p]; !ok {
			t.Errorf("%s has no call in the access matrix's cells", p)
		}
	}
	for p := range expect {
		if !slices.Contains(procs, p) {
			t.Errorf("the matrix has a row for %s, which is not a procedure", p)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	w := newWorld(t, st)
	callers := [nRoles]*person{anonymous: nil, workerRole: w.workers[0], superRole: w.supA1, adminRole: w.adminA}
	for _, p := range procs {
		for role := range nRoles {
			for target := range nTargets {
				name := fmt.Sprintf("%s/%s/%s", strings.TrimPrefix(p, "throughcare.v1."), roleNames[role], targetNames[target])
				t.Run(name, func(t *testing.T) {
					got := cells[p](w, callers[role], target)
					if want := expect[p][role][target]; got != want {
						t.Errorf("got %s, want %s", got, want)
					}
				})
			}
		}
	}
}

// outcome renders a call's result.
func outcome(err error) string {
	if err == nil {
		return ok
	}
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return cerr.Code().String()
	}
	return "error: " + err.Error()
}

func visible(err error, seen bool) string {
	if err != nil {
		return outcome(err)
	}
	if seen {
		return sees
	}
	return hidden
}
