package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

const (
	usageUserDevices = "usage: throughcare devices --user ID"
	usageRevokeUser  = "usage: throughcare devices revoke --user ID DEVICE_ID"
)

// userFlag parses the devices commands' --user flag and returns the user
// (empty: the caller's own devices) and the arguments after the flags.
func userFlag(name string, c *cli, args []string) (string, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.out)
	user := fs.String("user", "", "another user of your area (admins): from 'throughcare users'")
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(*user), fs.Args(), nil
}

// cmdUserDevices lists the devices of a user of the caller's area
// (admins), oldest first, revoked ones included, one line each as
// `devices` lists one's own.
func cmdUserDevices(ctx context.Context, c *cli, user string) error {
	resp, err := c.adminClient().ListUserDevices(ctx, &v1.ListUserDevicesRequest{UserId: user})
	if err != nil {
		return plainly(err, "user "+user, "admins")
	}
	printDevices(c, resp.GetDevices())
	return nil
}

// cmdUserDeviceRevoke revokes a device of a user of the caller's area
// (admins): it can no longer sign in and its sessions and streams end at
// once, as when the user revokes it themselves.
func cmdUserDeviceRevoke(ctx context.Context, c *cli, user string, args []string) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return errors.New(usageRevokeUser)
	}
	req := &v1.RevokeUserDeviceRequest{UserId: user, DeviceId: args[0]}
	if _, err := c.adminClient().RevokeUserDevice(ctx, req); err != nil {
		return plainly(err, "device "+args[0]+" of user "+user, "admins")
	}
	fmt.Fprintf(c.out, "device %s of user %s revoked: it can no longer sign in or sync\n", args[0], user)
	return nil
}

// printDevices prints listed devices, one line each: a * for the one the
// call came from, the id, the name, and whether it is revoked.
func printDevices(c *cli, devices []*v1.Device) {
	for _, d := range devices {
		state := "active"
		if d.GetRevokedAt() != nil {
			state = "revoked"
		}
		mark := " "
		if d.GetCurrent() {
			mark = "*"
		}
		fmt.Fprintf(c.out, "%s %s  %-24s %s\n", mark, d.GetDeviceId(), d.GetName(), state)
	}
}
