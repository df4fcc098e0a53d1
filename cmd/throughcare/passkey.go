package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/descope/virtualwebauthn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

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
	if c.prof.Credential != nil {
		return fmt.Errorf("profile %s already holds a passkey; use another --profile", c.path)
	}
	auth := c.authClient()
	begin, err := auth.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{InviteCode: invite, DeviceName: device})
	if err != nil {
		return err
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(begin.GetOptionsJson())
	if err != nil {
		return fmt.Errorf("reading the server's options: %w", err)
	}
	authenticator := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(opts.UserID)})
	cred := newCredential()
	attestation := virtualwebauthn.CreateAttestationResponse(c.rp, authenticator, cred, *opts)
	finish, err := auth.FinishEnrollment(ctx, &v1.FinishEnrollmentRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: attestation})
	if err != nil {
		return err
	}
	authenticator.AddCredential(cred)
	c.prof.Authenticator, c.prof.Credential, c.prof.Session = &authenticator, &cred, finish.GetSession()
	if err := c.save(); err != nil {
		return err
	}
	s := finish.GetSession()
	fmt.Fprintf(c.out, "enrolled: user %s, device %s, role %s\n", s.GetUserId(), s.GetDeviceId(), roleName(s.GetRole()))
	return nil
}

// cmdLogin signs in with the profile's passkey.
func cmdLogin(ctx context.Context, c *cli, args []string) error {
	if c.prof.Credential == nil || c.prof.Authenticator == nil {
		return errors.New("this profile has no passkey: run 'throughcare enrol' first")
	}
	auth := c.authClient()
	begin, err := auth.BeginLogin(ctx, &v1.BeginLoginRequest{})
	if err != nil {
		return err
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(begin.GetOptionsJson())
	if err != nil {
		return fmt.Errorf("reading the server's options: %w", err)
	}
	c.prof.Credential.Counter++
	assertion := virtualwebauthn.CreateAssertionResponse(c.rp, *c.prof.Authenticator, *c.prof.Credential, *opts)
	finish, err := auth.FinishLogin(ctx, &v1.FinishLoginRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: assertion})
	if err != nil {
		return err
	}
	c.prof.Session = finish.GetSession()
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "signed in: user %s, device %s\n", c.prof.Session.GetUserId(), c.prof.Session.GetDeviceId())
	return nil
}

// newCredential makes a software P-256 passkey. virtualwebauthn encodes the
// public key's coordinates without leading zero bytes, which relying parties
// rightly refuse, so keys with a short coordinate (1 in 128) are redrawn.
func newCredential() virtualwebauthn.Credential {
	for {
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(cred.Key.Data)
		if err != nil {
			panic(err) // virtualwebauthn always writes PKCS#8
		}
		if pk, ok := k.(*ecdsa.PrivateKey); ok && len(pk.X.Bytes()) == 32 && len(pk.Y.Bytes()) == 32 {
			return cred
		}
	}
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
