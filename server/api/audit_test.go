package api_test

import (
	"slices"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Creating a client is audited; a supervisor's pull of a client's bucket is audited (which client, how
// many records, from which device and address); a worker's pull of their
// own caseload is not. Admins read the trail by client or by user, page by
// page, and reading it is audited too; nobody else reads it, and another
// area's client is NotFound.
func TestAuditTrailOverTheAPI(t *testing.T) {
	e := newAdmEnv(t)
	ctx := t.Context()
	c := e.newClient(t, "admin-a", e.teamA1)
	for _, tok := range []string{"sup-a1", "worker-a1"} {
		id := e.ids[tok]
		id.Buckets = []string{c}
		e.tokens.set(tok, id)
		resp, err := e.sync(tok).Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.Builtin().Version()})
		if err != nil {
			t.Fatalf("%s pulls: %v", tok, err)
		}
		if n := len(resp.GetBuckets()); n != 1 {
			t.Fatalf("%s pulled %d buckets, want the client's", tok, n)
		}
	}

	read := func(token string, req *v1.ListAuditRequest) (*v1.ListAuditResponse, error) {
		return e.admin(token).ListAudit(ctx, req)
	}
	got, err := read("admin-a", &v1.ListAuditRequest{ClientId: c})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range got.GetEntries() {
		actions = append(actions, en.GetAction()+"/"+en.GetRole())
	}
	if want := []string{"create_client/admin", "pull/supervisor"}; !slices.Equal(actions, want) {
		t.Fatalf("the client's audit = %v, want %v (the worker's pull is not audited)", actions, want)
	}
	if c0 := got.GetEntries()[0]; c0.GetUserId() != e.user("admin-a") || c0.GetTeamId() != e.teamA1 || c0.GetCount() == 0 {
		t.Errorf("create_client entry = %v", c0)
	}
	pull := got.GetEntries()[1]
	if pull.GetUserId() != e.user("sup-a1") || pull.GetDeviceId() != e.ids["sup-a1"].DeviceID || pull.GetAddress() != "127.0.0.1" ||
		pull.GetCount() != 1 || !slices.Equal(pull.GetClientIds(), []string{c}) || pull.GetAt() == nil || len(pull.GetHash()) != 64 {
		t.Errorf("pull entry = %v", pull)
	}

	// Reading was audited: the next read by client finds it, after the pull.
	again, err := read("admin-a", &v1.ListAuditRequest{ClientId: c, After: pull.GetSeq()})
	if err != nil {
		t.Fatal(err)
	}
	if es := again.GetEntries(); len(es) != 1 || es[0].GetAction() != "read_audit" || es[0].GetUserId() != e.user("admin-a") ||
		es[0].GetPrevHash() == "" || es[0].GetSeq() <= pull.GetSeq() {
		t.Errorf("after the pull: %v, want the admin's read_audit", es)
	}
	// Paging: one at a time by user.
	page, err := read("admin-a", &v1.ListAuditRequest{UserId: e.user("admin-a"), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetEntries()) != 1 || page.GetNextAfter() != page.GetEntries()[0].GetSeq() {
		t.Errorf("first page of one = %v, next %d", page.GetEntries(), page.GetNextAfter())
	}
	last, err := read("admin-a", &v1.ListAuditRequest{UserId: e.user("admin-a"), After: page.GetNextAfter(), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if last.GetNextAfter() != 0 || len(last.GetEntries()) == 0 || last.GetEntries()[0].GetSeq() <= page.GetNextAfter() {
		t.Errorf("last page = %d entries, next %d", len(last.GetEntries()), last.GetNextAfter())
	}

	for name, tc := range map[string]struct {
		token string
		req   *v1.ListAuditRequest
		code  connect.Code
	}{
		"a supervisor":            {"sup-a1", &v1.ListAuditRequest{ClientId: c}, connect.CodePermissionDenied},
		"a worker":                {"worker-a1", &v1.ListAuditRequest{UserId: e.user("worker-a1")}, connect.CodePermissionDenied},
		"another area's client":   {"admin-b", &v1.ListAuditRequest{ClientId: c}, connect.CodeNotFound},
		"another area's user":     {"admin-b", &v1.ListAuditRequest{UserId: e.user("sup-a1")}, connect.CodeNotFound},
		"neither client nor user": {"admin-a", &v1.ListAuditRequest{}, connect.CodeInvalidArgument},
		"both client and user":    {"admin-a", &v1.ListAuditRequest{ClientId: c, UserId: e.user("sup-a1")}, connect.CodeInvalidArgument},
	} {
		_, err := read(tc.token, tc.req)
		admCode(t, name, err, tc.code)
	}
}
