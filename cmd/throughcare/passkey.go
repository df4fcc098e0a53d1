package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdEnrol registers a new software passkey from an invite, and signs the
// profile's device in.
func cmdEnrol(ctx context.Context, c *cli, args []string) error {
	invite, device := "", "throughcare CLI"
	if err := flags("enrol", args, c.out, []string{"invite"}, map[string]*string{"invite": &invite, "device": &device}); err != nil {
		return err
	}
	if c.prof.Passkey != nil && c.prof.Passkey.HasPasskey() {
		return fmt.Errorf("profile %s already holds a passkey; use another --profile", c.path)
	}
	key := software.New(c.origin)
	key.RPID = c.rpID
	if err := c.dev.Enrol(ctx, key, invite, device); err != nil {
		return err
	}
	c.prof.Passkey = key
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "enrolled: user %s, device %s, role %s\n", c.dev.UserID(), c.dev.DeviceID(), roleName(c.dev.Role()))
	return nil
}

// cmdLogin signs in with the profile's passkey, as the device the profile
// was enrolled or last signed in as.
func cmdLogin(ctx context.Context, c *cli, args []string) error {
	key := c.prof.Passkey
	if key == nil || !key.HasPasskey() {
		return errors.New("this profile has no passkey: run 'throughcare enrol' first")
	}
	key.Origin, key.RPID = c.origin, c.rpID
	if err := c.signIn(ctx, key); err != nil {
		return err
	}
	// The passkey counts its signatures.
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "signed in: user %s, device %s\n", c.dev.UserID(), c.dev.DeviceID())
	return nil
}

// signIn signs the device in with the passkey. A store that never held a
// session (it was lost, or the profile is older than it) signs in as the
// device the passkey was enrolled on, which may have sent changes already:
// it adopts the session, so that its changes are numbered after the
// server's high-water mark for the device (see caseload.Device.Adopt).
func (c *cli) signIn(ctx context.Context, key *software.Key) error {
	if c.dev.DeviceID() != "" {
		return c.dev.SignIn(ctx, key)
	}
	s, err := passkey.SignIn(ctx, c.authClient(), key, "")
	if err != nil {
		return err
	}
	return c.dev.Adopt(s, 0, 0)
}

func roleName(r v1.Role) string {
	switch r {
	case v1.Role_ROLE_WORKER:
		return "worker"
	case v1.Role_ROLE_SUPERVISOR:
		return "supervisor"
	case v1.Role_ROLE_ADMIN:
		return "admin"
	}
	return "unknown"
}
