// Package software is a passkey.Authenticator in memory, for tests, demos
// and command-line tools. It is a separate package so an app that only
// needs the passkey.Authenticator interface does not link virtualwebauthn.
package software

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/descope/virtualwebauthn"

	"github.com/throughcare/throughcare/client-sdk/passkey"
)

// Key is a passkey.Authenticator that keeps one passkey in memory, for
// tests, demos and command-line tools. It has no hardware protection and
// asks nobody: never use it for real people's accounts. It marshals to
// JSON (with its private key) so a tool can keep it in a file the user
// alone can read.
//
// Its exported fields may be changed between calls to play a misbehaving
// client in tests (a page on the wrong origin, a replayed counter).
type Key struct {
	// Origin is the origin it reports, as a browser reports the page's
	// ("https://throughcare.example.org").
	Origin string `json:"origin"`
	// RPID, if set, is used instead of the relying-party id in the options.
	RPID string `json:"rp_id,omitempty"`
	// Synced makes it behave as a synced passkey (backup eligible and backed
	// up; its sign count stays 0), like those of phone and tablet platforms.
	Synced bool `json:"synced,omitempty"`
	// Device is the authenticator and its credential (set by Create).
	Device virtualwebauthn.Authenticator `json:"device"`

	mu sync.Mutex
}

var _ passkey.Authenticator = (*Key)(nil)

// New returns a software authenticator for pages of origin.
func New(origin string) *Key { return &Key{Origin: origin} }

// Create implements passkey.Authenticator. A Key holds one passkey: a second
// Create fails.
func (s *Key) Create(_ context.Context, optionsJSON string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.Device.Credentials) > 0 {
		return "", errors.New("passkey: this software authenticator already holds a passkey")
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(optionsJSON)
	if err != nil {
		return "", fmt.Errorf("passkey: reading creation options: %w", err)
	}
	dev := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
		UserHandle: []byte(opts.UserID), BackupEligible: s.Synced, BackupState: s.Synced,
	})
	cred, err := newCredential()
	if err != nil {
		return "", err
	}
	resp := virtualwebauthn.CreateAttestationResponse(s.rp(opts.RelyingPartyID, opts.RelyingPartyName), dev, cred, *opts)
	dev.AddCredential(cred)
	s.Device = dev
	return resp, nil
}

// Get implements passkey.Authenticator.
func (s *Key) Get(_ context.Context, optionsJSON string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	opts, err := virtualwebauthn.ParseAssertionOptions(optionsJSON)
	if err != nil {
		return "", fmt.Errorf("passkey: reading sign-in options: %w", err)
	}
	var cred *virtualwebauthn.Credential
	if len(opts.AllowCredentials) == 0 { // discoverable: any passkey for the relying party
		if len(s.Device.Credentials) > 0 {
			cred = &s.Device.Credentials[0]
		}
	} else {
		cred = s.Device.FindAllowedCredential(*opts)
	}
	if cred == nil {
		return "", errors.New("passkey: no passkey for this sign-in")
	}
	if !s.Synced {
		cred.Counter++ // device-bound authenticators count signatures
	}
	return virtualwebauthn.CreateAssertionResponse(s.rp(opts.RelyingPartyID, ""), s.Device, *cred, *opts), nil
}

// HasPasskey says whether Create has made the passkey.
func (s *Key) HasPasskey() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Device.Credentials) > 0
}

func (s *Key) rp(id, name string) virtualwebauthn.RelyingParty {
	if s.RPID != "" {
		id = s.RPID
	}
	return virtualwebauthn.RelyingParty{ID: id, Name: name, Origin: s.Origin}
}

// newCredential makes a P-256 passkey. virtualwebauthn encodes the public
// key's coordinates without leading zero bytes, which relying parties
// rightly refuse, so keys with a short coordinate (1 in 128) are redrawn.
func newCredential() (virtualwebauthn.Credential, error) {
	for {
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(cred.Key.Data)
		if err != nil {
			return cred, fmt.Errorf("passkey: new key: %w", err)
		}
		pk, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return cred, errors.New("passkey: new key is not P-256")
		}
		pub, err := pk.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			return cred, err
		}
		if pub[1] != 0 && pub[33] != 0 {
			return cred, nil
		}
	}
}
