package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdDeviceRevoke revokes one of the caller's own devices (a lost tablet),
// or with --user one of another user's (admins): it can no longer sign in
// and its sessions and streams end at once.
func cmdDeviceRevoke(ctx context.Context, c *cli, args []string) error {
	user, args, err := userFlag("devices revoke", c, args)
	if err != nil {
		return err
	}
	if user != "" {
		return cmdUserDeviceRevoke(ctx, c, user, args)
	}
	if len(args) != 1 {
		return errors.New("usage: throughcare devices revoke [--user ID] ID")
	}
	if _, err := c.authClient().RevokeDevice(ctx, &v1.RevokeDeviceRequest{DeviceId: args[0]}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "device %s revoked: it can no longer sign in or sync\n", args[0])
	return nil
}

// cmdUser disables a user (admins): they can no longer sign in, and every
// session and stream of every device of theirs ends at once.
func cmdUser(ctx context.Context, c *cli, args []string) error {
	if len(args) != 2 || args[0] != "disable" {
		return errors.New("usage: throughcare user disable ID")
	}
	if _, err := c.adminClient().DisableUser(ctx, &v1.DisableUserRequest{UserId: args[1]}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "user %s disabled: every device of theirs is signed out\n", args[1])
	return nil
}

// cmdClientClose closes a client's case (supervisors and admins): the
// client's status becomes "closed" on every device holding them, and the
// area's retention counts from then. Closing a closed case changes nothing.
func cmdClientClose(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return errors.New("usage: throughcare client close ID")
	}
	if _, err := c.adminClient().CloseClient(ctx, &v1.CloseClientRequest{ClientId: args[0]}); err != nil {
		return plainly(err, "client "+args[0], "supervisors and admins")
	}
	fmt.Fprintf(c.out, "client %s closed: retention counts from now\n", args[0])
	return nil
}
