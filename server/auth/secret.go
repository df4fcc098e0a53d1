// Package auth signs people in with passkeys (WebAuthn) and keeps their
// sessions: enrolment by invitation, discoverable sign-in, access and
// refresh tokens stored only as hashes, device lists and revocation, and the
// identity source that turns a bearer token into the caller's identity and
// caseload for every other procedure.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// Secret prefixes say what a secret is when one turns up somewhere it
// should not (a log, a ticket): access token, refresh token, invite code.
const (
	AccessPrefix  = "tca_"
	RefreshPrefix = "tcr_"
	InvitePrefix  = "tci_"
)

// NewToken returns a new bearer secret: prefix and 256 random bits.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewInviteCode returns a new invite code: 130 random bits in lower-case
// base32, easy to read out or type on a tablet.
func NewInviteCode() string {
	b := make([]byte, 17)
	rand.Read(b)
	return InvitePrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:26]
}

// HashSecret returns the hash under which a token or invite code is stored.
// Secrets are long and random, so one round of SHA-256 suffices.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return h[:]
}
