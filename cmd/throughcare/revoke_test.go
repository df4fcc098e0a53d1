package main

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// fakeDisable records the users an AdminService was asked to disable.
type fakeDisable struct {
	fakeInvites
	disabled []string
}

func (f *fakeDisable) DisableUser(_ context.Context, req *v1.DisableUserRequest) (*v1.DisableUserResponse, error) {
	f.disabled = append(f.disabled, req.GetUserId())
	return &v1.DisableUserResponse{}, nil
}

func TestUserDisable(t *testing.T) {
	f := &fakeDisable{}
	out, err := runCLI(t, f, "user", "disable", "user-7")
	if err != nil || out != "user user-7 disabled: every device of theirs is signed out\n" || len(f.disabled) != 1 || f.disabled[0] != "user-7" {
		t.Fatalf("user disable: %q, %v; disabled %v", out, err, f.disabled)
	}
	for _, bad := range [][]string{{"user"}, {"user", "disable"}, {"user", "enable", "x"}, {"user", "disable", "a", "b"}, {"devices", "revoke"}, {"devices", "extra"}} {
		if _, err := runCLI(t, f, bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
	if len(f.disabled) != 1 {
		t.Errorf("a usage error disabled someone: %v", f.disabled)
	}
}
