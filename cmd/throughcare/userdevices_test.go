package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// fakeCases serves one user's devices and one client, records what it is
// asked to revoke and close, answers NotFound for anyone or anything else,
// and PermissionDenied when denied is set (a caller of the wrong role).
type fakeCases struct {
	fakeInvites
	denied  bool
	mu      sync.Mutex
	revoked []string
	closed  []string
}

var errDenied = connect.NewError(connect.CodePermissionDenied, errors.New("a worker may not manage devices"))

func (f *fakeCases) ListUserDevices(_ context.Context, req *v1.ListUserDevicesRequest) (*v1.ListUserDevicesResponse, error) {
	if f.denied {
		return nil, errDenied
	}
	if req.GetUserId() != "u-1" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such user"))
	}
	at := timestamppb.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	return &v1.ListUserDevicesResponse{Devices: []*v1.Device{
		{DeviceId: "d-1", Name: "Tablet 7", CreatedAt: at},
		{DeviceId: "d-2", Name: "Old phone", CreatedAt: at, RevokedAt: at},
	}}, nil
}

func (f *fakeCases) RevokeUserDevice(_ context.Context, req *v1.RevokeUserDeviceRequest) (*v1.RevokeUserDeviceResponse, error) {
	if f.denied {
		return nil, errDenied
	}
	if req.GetUserId() != "u-1" || !slices.Contains([]string{"d-1", "d-2"}, req.GetDeviceId()) {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such device of this user"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, req.GetUserId()+"/"+req.GetDeviceId())
	return &v1.RevokeUserDeviceResponse{}, nil
}

func (f *fakeCases) CloseClient(_ context.Context, req *v1.CloseClientRequest) (*v1.CloseClientResponse, error) {
	if f.denied {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("a worker may not close clients"))
	}
	if req.GetClientId() != "c-1" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("client not found"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, req.GetClientId())
	return &v1.CloseClientResponse{}, nil
}

// An admin lists another user's devices (revoked ones included), revokes
// one, and closes a client's case; each asks the server exactly that.
func TestUserDevicesAndCloseClient(t *testing.T) {
	f := &fakeCases{}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"devices", "--user", "u-1"}, "  d-1  Tablet 7                 active\n  d-2  Old phone                revoked\n"},
		{[]string{"devices", "revoke", "--user", "u-1", "d-1"}, "device d-1 of user u-1 revoked: it can no longer sign in or sync\n"},
		{[]string{"client", "close", "c-1"}, "client c-1 closed: retention counts from now\n"},
	}
	for _, tt := range tests {
		got, err := runCLI(t, f, tt.args...)
		if err != nil || got != tt.want {
			t.Errorf("%v printed %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	if !slices.Equal(f.revoked, []string{"u-1/d-1"}) || !slices.Equal(f.closed, []string{"c-1"}) {
		t.Errorf("revoked %v, closed %v; want u-1/d-1 and c-1", f.revoked, f.closed)
	}
}

// Out of reach and not allowed are said plainly, keep the server's code
// (so the command exits 1 like every failure), and change nothing; bad
// arguments get the usage before any call.
func TestUserDevicesAndCloseClientRefusals(t *testing.T) {
	tests := []struct {
		denied bool
		args   []string
		code   connect.Code
		want   string
	}{
		{false, []string{"devices", "--user", "u-9"}, connect.CodeNotFound, "user u-9 not found in your reach"},
		{false, []string{"devices", "revoke", "--user", "u-1", "d-9"}, connect.CodeNotFound, "device d-9 of user u-1 not found in your reach"},
		{false, []string{"client", "close", "c-9"}, connect.CodeNotFound, "client c-9 not found in your reach"},
		{true, []string{"devices", "--user", "u-1"}, connect.CodePermissionDenied, "permission denied: admins only (a worker may not manage devices)"},
		{true, []string{"devices", "revoke", "--user", "u-1", "d-1"}, connect.CodePermissionDenied, "permission denied: admins only (a worker may not manage devices)"},
		{true, []string{"client", "close", "c-1"}, connect.CodePermissionDenied, "permission denied: supervisors and admins only (a worker may not close clients)"},
	}
	for _, tt := range tests {
		f := &fakeCases{denied: tt.denied}
		out, err := runCLI(t, f, tt.args...)
		if err == nil || err.Error() != tt.want || connect.CodeOf(err) != tt.code || out != "" {
			t.Errorf("%v: printed %q, error %v (%v); want %q (%v)", tt.args, out, err, connect.CodeOf(err), tt.want, tt.code)
		}
		if len(f.revoked)+len(f.closed) != 0 {
			t.Errorf("%v changed something: revoked %v, closed %v", tt.args, f.revoked, f.closed)
		}
	}
	f := &fakeCases{}
	for _, bad := range [][]string{
		{"devices", "--user", "u-1", "extra"}, {"devices", "revoke", "--user", "u-1"}, {"devices", "revoke", "--user", "u-1", "d-1", "d-2"},
		{"client", "close"}, {"client", "close", "c-1", "c-2"}, {"client", "close", " "}, {"client"},
	} {
		if _, err := runCLI(t, f, bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
	if len(f.revoked)+len(f.closed) != 0 {
		t.Errorf("a usage error changed something: revoked %v, closed %v", f.revoked, f.closed)
	}
}
