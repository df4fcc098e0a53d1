package main

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func protojsonMarshal(m proto.Message) ([]byte, error) { return protojson.Marshal(m) }

func protojsonUnmarshal(b []byte, m proto.Message) error { return protojson.Unmarshal(b, m) }

// cmdEnrol registers a new software passkey from an invite.
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
	s, err := passkey.Enrol(ctx, c.authClient(), key, invite, device)
	if err != nil {
		return err
	}
	c.prof.Passkey, c.prof.Session = key, s
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "enrolled: user %s, device %s, role %s\n", s.GetUserId(), s.GetDeviceId(), roleName(s.GetRole()))
	return nil
}

// cmdLogin signs in with the profile's passkey, as the device the profile
// was enrolled or last signed in as.
func cmdLogin(ctx context.Context, c *cli, args []string) error {
	if c.prof.Passkey == nil || !c.prof.Passkey.HasPasskey() {
		return errors.New("this profile has no passkey: run 'throughcare enrol' first")
	}
	c.prof.Passkey.Origin, c.prof.Passkey.RPID = c.origin, c.rpID
	s, err := passkey.SignIn(ctx, c.authClient(), c.prof.Passkey, c.prof.Session.GetDeviceId())
	if err != nil {
		return err
	}
	c.prof.Session = s
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "signed in: user %s, device %s\n", s.GetUserId(), s.GetDeviceId())
	return nil
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
