package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeInvites is an AdminService that records the invite requests it gets
// and serves a fixed list of invites in pages of two.
type fakeInvites struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
	mu      sync.Mutex
	lists   []*v1.ListInvitesRequest
	revoked []string
	invites []*v1.Invite
}

func (f *fakeInvites) CreateInvite(_ context.Context, req *v1.CreateInviteRequest) (*v1.CreateInviteResponse, error) {
	return &v1.CreateInviteResponse{InviteCode: "tci_secret", InviteId: "0190-new",
		ExpiresAt: timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}, nil
}

func (f *fakeInvites) ListInvites(_ context.Context, req *v1.ListInvitesRequest) (*v1.ListInvitesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, req)
	start := slices.IndexFunc(f.invites, func(in *v1.Invite) bool { return in.GetInviteId() == req.GetPageToken() }) + 1
	end := min(start+2, len(f.invites))
	resp := &v1.ListInvitesResponse{Invites: f.invites[start:end]}
	if end < len(f.invites) {
		resp.NextPageToken = f.invites[end-1].GetInviteId()
	}
	return resp, nil
}

func (f *fakeInvites) RevokeInvite(_ context.Context, req *v1.RevokeInviteRequest) (*v1.RevokeInviteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, req.GetInviteId())
	return &v1.RevokeInviteResponse{}, nil
}

// runCLI runs the CLI against the fake and returns what it printed.
func runCLI(t *testing.T, f throughcarev1connect.AdminServiceHandler, args ...string) (string, error) {
	t.Helper()
	return runCLIWith(t, f, args...)
}

// runCLIWith runs the CLI against an AdminService and returns what it
// printed.
func runCLIWith(t *testing.T, f throughcarev1connect.AdminServiceHandler, args ...string) (string, error) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(throughcarev1connect.NewAdminServiceHandler(f))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	profile := filepath.Join(t.TempDir(), "profile.json")
	err := run(t.Context(), append([]string{"--server", srv.URL, "--profile", profile}, args...), func(string) string { return "" }, &out)
	return out.String(), err
}

func TestInviteCommands(t *testing.T) {
	expires := timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	f := &fakeInvites{invites: []*v1.Invite{
		{InviteId: "id-1", Role: v1.Role_ROLE_WORKER, TeamId: "team-1", DisplayName: "Sam Worker", CreatedByUserId: "sup-1",
			ExpiresAt: expires, State: v1.InviteState_INVITE_STATE_PENDING},
		{InviteId: "id-2", Role: v1.Role_ROLE_ADMIN, DisplayName: "Administrator", ExpiresAt: expires, State: v1.InviteState_INVITE_STATE_PENDING},
		{InviteId: "id-3", Role: v1.Role_ROLE_WORKER, TeamId: "team-1", DisplayName: "Jo", CreatedByUserId: "sup-1",
			ExpiresAt: expires, State: v1.InviteState_INVITE_STATE_USED, UsedByUserId: "user-9"},
	}}

	out, err := runCLI(t, f, "invite", "--role", "worker", "--team", "team-1", "--name", "Sam Worker")
	if want := "invite tci_secret id 0190-new (expires 2030-01-02T03:04:05Z)\n"; err != nil || out != want {
		t.Errorf("invite printed %q, %v; want %q", out, err, want)
	}

	out, err = runCLI(t, f, "invites")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`invite id-1 worker     pending          team team-1 expires 2030-01-02T03:04:05Z "Sam Worker" by sup-1`,
		`invite id-2 admin      pending          team - expires 2030-01-02T03:04:05Z "Administrator" by server`,
		`invite id-3 worker     used             team team-1 expires 2030-01-02T03:04:05Z "Jo" by sup-1 used by user-9`,
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("invites printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(f.lists) != 2 || f.lists[0].GetIncludeEnded() || f.lists[1].GetPageToken() != "id-2" {
		t.Errorf("invites asked %v, want two pages of pending invites", f.lists)
	}
	if _, err := runCLI(t, f, "invites", "--all"); err != nil || !f.lists[2].GetIncludeEnded() {
		t.Errorf("invites --all: %v, asked %v", err, f.lists[2])
	}

	out, err = runCLI(t, f, "invite", "revoke", "id-1")
	if err != nil || !strings.Contains(out, "invite id-1 revoked") || !slices.Equal(f.revoked, []string{"id-1"}) {
		t.Errorf("invite revoke printed %q, %v; revoked %v", out, err, f.revoked)
	}
	for _, bad := range [][]string{{"invite", "revoke"}, {"invite", "revoke", "a", "b"}, {"invites", "extra"}} {
		if _, err := runCLI(t, f, bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
	if len(f.revoked) != 1 {
		t.Errorf("a usage error revoked something: %v", f.revoked)
	}
}
