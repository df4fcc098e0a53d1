// Package passkey is the client side of Throughcare's passkey sign-in: the
// Authenticator an app plugs in (the platform's WebAuthn API on a tablet, a
// software one in tests, demos and command-line tools), and Enrol and
// SignIn, which run the server's ceremonies with it.
package passkey

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// An Authenticator makes and uses passkeys. Its two methods take the JSON
// options the server sends, in the form a browser's
// navigator.credentials.create and navigator.credentials.get take as
// {publicKey: ...}, and return the PublicKeyCredential as JSON (what
// PublicKeyCredential.toJSON gives in a browser).
type Authenticator interface {
	// Create makes a new passkey for the user the options name.
	Create(ctx context.Context, optionsJSON string) (credentialJSON string, err error)
	// Get signs the options' challenge with a passkey for the relying party.
	Get(ctx context.Context, optionsJSON string) (credentialJSON string, err error)
}

// ErrCancelled is what an Authenticator returns when the person declined.
var ErrCancelled = errors.New("passkey: cancelled")

// Enrol redeems an invite: it makes a passkey with a and returns the first
// session of the new device. deviceName is how the device is listed to its
// owner ("Outreach tablet 3").
func Enrol(ctx context.Context, c throughcarev1connect.AuthServiceClient, a Authenticator, invite, deviceName string) (*v1.Session, error) {
	begin, err := c.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{InviteCode: invite, DeviceName: deviceName})
	if err != nil {
		return nil, err
	}
	cred, err := a.Create(ctx, begin.GetOptionsJson())
	if err != nil {
		return nil, fmt.Errorf("passkey: creating: %w", err)
	}
	fin, err := c.FinishEnrollment(ctx, &v1.FinishEnrollmentRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: cred})
	if err != nil {
		return nil, err
	}
	return fin.GetSession(), nil
}

// SignIn signs in with a passkey a holds. deviceID is the device id this
// installation was given before (by Enrol or an earlier SignIn), or empty
// on a device that has never signed in: a synced passkey signs in on
// several tablets, and each must keep its own device id.
func SignIn(ctx context.Context, c throughcarev1connect.AuthServiceClient, a Authenticator, deviceID string) (*v1.Session, error) {
	begin, err := c.BeginLogin(ctx, &v1.BeginLoginRequest{})
	if err != nil {
		return nil, err
	}
	cred, err := a.Get(ctx, begin.GetOptionsJson())
	if err != nil {
		return nil, fmt.Errorf("passkey: signing: %w", err)
	}
	fin, err := c.FinishLogin(ctx, &v1.FinishLoginRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: cred, DeviceId: deviceID})
	if err != nil {
		return nil, err
	}
	return fin.GetSession(), nil
}
