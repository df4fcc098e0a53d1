package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// BeginLogin starts a sign-in with a discoverable credential: no username,
// the authenticator offers the passkeys it holds for this relying party.
func (s *Service) BeginLogin(ctx context.Context) (*v1.BeginLoginResponse, error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		return nil, err
	}
	id, err := s.putCeremony(ctx, kindLogin, sd, nil, "")
	if err != nil {
		return nil, err
	}
	return &v1.BeginLoginResponse{CeremonyId: id, OptionsJson: string(opts)}, nil
}

// Reasons a discoverable-credential lookup fails; they reach only the log
// (as a category), the caller sees "passkey verification failed".
var (
	errUnknownHandle     = errors.New("auth: no user with this handle")
	errUnknownCredential = errors.New("auth: credential unknown or not the user's")
	errRevoked           = errors.New("auth: device revoked")
	errDisabled          = errors.New("auth: user disabled")
	errDeviceRefused     = errors.New("auth: device id not usable with this passkey")
)

// maxDeviceName bounds a device name, in characters (as at enrolment).
const maxDeviceName = 100

// LoginRequest is the input of FinishLoginWith.
type LoginRequest struct {
	// CeremonyID is the ceremony from BeginLogin.
	CeremonyID string
	// CredentialJSON is the PublicKeyCredential the authenticator returned.
	CredentialJSON string
	// DeviceID is the device id this installation was given by an earlier
	// enrolment or sign-in, or "" on an installation that never signed in.
	DeviceID string
	// DeviceName names the device if the sign-in registers a new one
	// (optional).
	DeviceName string
}

// FinishLogin is FinishLoginWith without a device id or name: an
// installation that never signed in, or a client that predates them.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, credentialJSON string) (*v1.Session, error) {
	return s.FinishLoginWith(ctx, LoginRequest{CeremonyID: ceremonyID, CredentialJSON: credentialJSON})
}

// FinishLoginWith verifies the assertion of a sign-in ceremony and starts a
// session for a device of the passkey. The user is found by the user handle
// the authenticator returned, and the credential must be that user's, its
// primary device (the one it was enrolled on) not revoked, the user not
// disabled. A sign count that did not advance (a possibly cloned
// authenticator) is refused, except 0 after 0: synced passkeys keep no
// count. The credential's count and flags are written back to the primary.
//
// A device is an installation, and its id the replica id it stamps its
// changes with; a synced (backup-eligible) passkey may sign in on several.
// The session is for:
//
//   - the device DeviceID names, if it is the primary or another
//     installation of this passkey (PrimaryID == primary) and not revoked;
//     any other DeviceID (unknown, malformed, another user's or another
//     passkey's device, revoked) fails the sign-in like a bad assertion;
//   - the primary, if DeviceID is empty and the passkey is device-bound (it
//     can only be on the installation it was made on);
//   - a new installation, if DeviceID is empty and the passkey is synced.
//
// The device's earlier sessions end: a device holds one session at a time
// (other installations of the passkey keep theirs).
func (s *Service) FinishLoginWith(ctx context.Context, req LoginRequest) (*v1.Session, error) {
	name := strings.TrimSpace(req.DeviceName)
	if utf8.RuneCountInString(name) > maxDeviceName {
		return nil, errkind.E(errkind.Invalid, "device_name is longer than 100 characters")
	}
	parsed, parseErr := protocol.ParseCredentialRequestResponseBytes([]byte(req.CredentialJSON))
	var a loginAttempt
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		a = loginAttempt{} // the transaction may run again
		_, sd, err := s.takeCeremony(tx, req.CeremonyID, kindLogin)
		if err != nil {
			if errkind.Of(err) != 0 {
				a.failure, a.reason = err, "no_ceremony"
				return nil // commit: the ceremony is used up
			}
			return err
		}
		if parseErr != nil {
			a.failure, a.reason = verifyFailed(parseErr), "malformed"
			return nil
		}
		return s.verifyLogin(ctx, tx, &a, sd, parsed, req.DeviceID, name)
	})
	if err != nil {
		return nil, err
	}
	s.notify.ended(a.replaced)
	if a.failure != nil {
		ev := s.log.Info()
		if a.reason == "sign_count" {
			// A cloned authenticator, or a broken one: someone should look.
			ev = s.log.Warn().Str("user_id", a.device.UserID).Str("device_id", a.device.ID)
		}
		ev.Str("event", "login_refused").Str("reason", a.reason).Msg("sign-in refused")
		return nil, a.failure
	}
	ev := s.log.Info().Str("event", "login").Str("user_id", a.out.GetUserId()).Str("device_id", a.out.GetDeviceId())
	if a.out.GetDeviceId() != a.device.ID {
		ev = ev.Str("primary_device_id", a.device.ID).Bool("new_device", a.added)
	}
	ev.Msg("signed in")
	return a.out, nil
}

// loginAttempt is what one run of FinishLogin's transaction found: the
// session it started, or the refusal and its category for the log.
type loginAttempt struct {
	out      *v1.Session
	failure  error
	reason   string
	replaced endedSessions // the sessions the sign-in ended
	user     *store.User
	device   *store.Device // the passkey's primary
	added    bool          // a new installation of a synced passkey
}

// verifyLogin checks the assertion against the passkey it names and, if it
// holds, admits the sign-in. A refusal is recorded in the audit trail of the
// user whose passkey it names only if the assertion carries that passkey's
// own signature (a revoked device, a disabled user, a sign count that went
// back, a phishing origin): a forged one, which anyone who knows a
// credential id can send, and an unknown passkey are only logged, so
// nobody's trail fills with strangers' attempts.
func (s *Service) verifyLogin(ctx context.Context, tx store.DirTx, a *loginAttempt, sd *webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData, deviceID, name string) error {
	var lookErr error
	var publicKey []byte
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		a.user, a.device, lookErr = s.lookupCredential(tx, rawID, userHandle)
		if lookErr != nil && !errors.Is(lookErr, errRevoked) && !errors.Is(lookErr, errDisabled) {
			return nil, lookErr
		}
		// A revoked device or a disabled user is verified like any other
		// passkey, and refused once the assertion is known to be theirs.
		var cred webauthn.Credential
		if err := json.Unmarshal(a.device.Credential, &cred); err != nil {
			lookErr = err
			return nil, err
		}
		publicKey = cred.PublicKey
		return &waUser{handle: a.user.Handle, name: a.user.DisplayName, credentials: []webauthn.Credential{cred}}, nil
	}
	refused := func(err error, why string, theirs bool) error {
		a.failure, a.reason = verifyFailed(err), why
		if !theirs || a.user == nil || a.device == nil {
			return nil
		}
		return tx.AppendAudit(audit.UserEntry(ctx, a.user, a.device.ID, store.AuditSignInRefused, s.now()))
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(handler, *sd, parsed)
	switch {
	case lookErr != nil && !isLookupRefusal(lookErr):
		return lookErr // the store failed
	case err != nil:
		return refused(err, refusalLabel(lookErr), publicKey != nil && signedBy(parsed, publicKey))
	case lookErr != nil: // revoked or disabled, and the assertion is theirs
		return refused(lookErr, refusalLabel(lookErr), true)
	case cred.Authenticator.CloneWarning:
		// go-webauthn accepts 0 after 0 (a passkey that keeps no count,
		// as synced ones do) and warns on any other count that did not
		// go up.
		return refused(errors.New("auth: sign count did not advance"), "sign_count", true)
	}
	chosen, why, err := s.installation(tx, a.device, cred.Flags.BackupEligible, deviceID, name)
	if err != nil {
		return err
	}
	if why != "" {
		return refused(errDeviceRefused, why, true)
	}
	return s.admitLogin(ctx, tx, a, cred, chosen)
}

// admitLogin saves the passkey's new state and the installation signed in
// on, ends that installation's earlier sessions and starts its new one.
func (s *Service) admitLogin(ctx context.Context, tx store.DirTx, a *loginAttempt, cred *webauthn.Credential, chosen *store.Device) error {
	credBytes, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	now := s.now()
	device := a.device
	device.Credential = credBytes
	if chosen.ID == device.ID {
		chosen = device
	} else {
		a.added = chosen.CreatedAt.IsZero()
		if a.added {
			chosen.CreatedAt = now
		}
	}
	chosen.LastUsedAt = now
	if err := tx.PutDevice(device); err != nil {
		return err
	}
	if chosen != device {
		if err := tx.PutDevice(chosen); err != nil {
			return err
		}
	}
	if a.replaced, err = endSessions(tx, tx.SessionsOfDevice(chosen.ID)); err != nil {
		return err
	}
	sess, t, err := s.startSession(tx, a.user.ID, chosen.ID)
	if err != nil {
		return err
	}
	if err := tx.AppendAudit(audit.UserEntry(ctx, a.user, chosen.ID, store.AuditSignIn, now)); err != nil {
		return err
	}
	a.out = sessionMessage(sess, t, a.user)
	return nil
}

// installation chooses the device a sign-in with primary's passkey is for
// (see FinishLoginWith), or says why deviceID may not be used: a category
// for the log. A new installation is returned unsaved, with CreatedAt zero.
func (s *Service) installation(tx store.DirTx, primary *store.Device, backupEligible bool, deviceID, name string) (*store.Device, string, error) {
	if deviceID == "" {
		if !backupEligible {
			return primary, "", nil
		}
		if name == "" {
			name = primary.Name + " (another device)"
		}
		return &store.Device{ID: uuid.NewString(), UserID: primary.UserID, Name: name,
			CredentialID: primary.CredentialID, PrimaryID: primary.ID}, "", nil
	}
	if !validDeviceID(deviceID) {
		return nil, "device_id_unknown", nil
	}
	if deviceID == primary.ID {
		return primary, "", nil // not revoked: lookupCredential checked
	}
	d, err := tx.Device(deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "device_id_unknown", nil
	}
	if err != nil {
		return nil, "", err
	}
	switch {
	case d.UserID != primary.UserID || d.PrimaryID != primary.ID || !bytes.Equal(d.CredentialID, primary.CredentialID):
		return nil, "device_id_unknown", nil
	case !d.RevokedAt.IsZero():
		return nil, "device_id_revoked", nil
	}
	return d, "", nil
}

// validDeviceID reports whether s has the shape of a device id: a UUID in
// canonical form, as enrolment and sign-in make them.
func validDeviceID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// lookupCredential finds the user of a user handle and checks that the
// credential is theirs and usable.
func (s *Service) lookupCredential(tx store.DirTx, rawID, userHandle []byte) (*store.User, *store.Device, error) {
	u, err := tx.UserByHandle(userHandle)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errUnknownHandle
	}
	if err != nil {
		return nil, nil, err
	}
	d, err := tx.DeviceByCredential(rawID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errUnknownCredential
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case d.UserID != u.ID || !d.IsPrimary():
		return nil, nil, errUnknownCredential
	case !d.RevokedAt.IsZero():
		return u, d, errRevoked // known: the refusal is audited
	case u.Disabled:
		return u, d, errDisabled
	case identity.ParseRole(u.Role) == 0:
		return u, d, errDisabled
	}
	return u, d, nil
}

// signedBy reports whether the assertion is signed with the passkey whose
// public key (COSE) is given, over its authenticator data and client data as
// sent, whatever else is wrong with it (its origin, its challenge, its flags).
func signedBy(p *protocol.ParsedCredentialAssertionData, publicKey []byte) bool {
	key, err := webauthncose.ParsePublicKey(publicKey)
	if err != nil {
		return false
	}
	hash := sha256.Sum256(p.Raw.AssertionResponse.ClientDataJSON)
	ok, err := webauthncose.VerifySignature(key, slices.Concat(p.Raw.AssertionResponse.AuthenticatorData, hash[:]), p.Response.Signature)
	return ok && err == nil
}

func isLookupRefusal(err error) bool {
	return errors.Is(err, errUnknownHandle) || errors.Is(err, errUnknownCredential) ||
		errors.Is(err, errRevoked) || errors.Is(err, errDisabled)
}

func refusalLabel(err error) string {
	switch {
	case errors.Is(err, errUnknownHandle), errors.Is(err, errUnknownCredential):
		return "unknown_credential"
	case errors.Is(err, errRevoked):
		return "device_revoked"
	case errors.Is(err, errDisabled):
		return "user_disabled"
	}
	return "verification_failed"
}
