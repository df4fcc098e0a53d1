package auth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

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
)

// FinishLogin verifies the assertion of a sign-in ceremony and starts a
// session for the passkey's device. The user is found by the user handle
// the authenticator returned, and the credential must be that user's, on a
// device that is not revoked, of a user who is not disabled. A sign count
// that did not advance (a possibly cloned authenticator) is refused. The
// device's earlier sessions end: a device holds one session at a time.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, credentialJSON string) (*v1.Session, error) {
	parsed, parseErr := protocol.ParseCredentialRequestResponseBytes([]byte(credentialJSON))
	var (
		out      *v1.Session
		failure  error
		reason   string
		replaced []string
		device   *store.Device
	)
	err := s.st.Directory(ctx, func(tx *store.DirTx) error {
		out, failure, reason, replaced, device = nil, nil, "", nil, nil
		_, sd, err := s.takeCeremony(tx, ceremonyID, kindLogin)
		if err != nil {
			if errkind.Of(err) != 0 {
				failure, reason = err, "no_ceremony"
				return nil // commit: the ceremony is used up
			}
			return err
		}
		if parseErr != nil {
			failure, reason = verifyFailed(parseErr), "malformed"
			return nil
		}
		var (
			user    *store.User
			lookErr error
		)
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			user, device, lookErr = s.lookupCredential(tx, rawID, userHandle)
			if lookErr != nil {
				return nil, lookErr
			}
			var cred webauthn.Credential
			if err := json.Unmarshal(device.Credential, &cred); err != nil {
				lookErr = err
				return nil, err
			}
			return &waUser{handle: user.Handle, name: user.DisplayName, credentials: []webauthn.Credential{cred}}, nil
		}
		_, cred, err := s.wa.ValidatePasskeyLogin(handler, *sd, parsed)
		switch {
		case lookErr != nil && !isLookupRefusal(lookErr):
			return lookErr // the store failed
		case err != nil:
			failure, reason = verifyFailed(err), refusalLabel(lookErr)
			return nil
		case cred.Authenticator.CloneWarning:
			failure, reason = verifyFailed(errors.New("auth: sign count did not advance")), "sign_count"
			return nil
		}
		credBytes, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		device.Credential, device.LastUsedAt = credBytes, s.now()
		if err := tx.PutDevice(device); err != nil {
			return err
		}
		if replaced, err = endSessions(tx, tx.SessionsOfDevice(device.ID)); err != nil {
			return err
		}
		sess, t, err := s.startSession(tx, user.ID, device.ID)
		if err != nil {
			return err
		}
		out = sessionMessage(sess, t, user)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify.end(replaced...)
	if failure != nil {
		ev := s.log.Info()
		if reason == "sign_count" {
			// A cloned authenticator, or a broken one: someone should look.
			ev = s.log.Warn().Str("user_id", device.UserID).Str("device_id", device.ID)
		}
		ev.Str("event", "login_refused").Str("reason", reason).Msg("sign-in refused")
		return nil, failure
	}
	s.log.Info().Str("event", "login").Str("user_id", out.GetUserId()).Str("device_id", out.GetDeviceId()).Msg("signed in")
	return out, nil
}

// lookupCredential finds the user of a user handle and checks that the
// credential is theirs and usable.
func (s *Service) lookupCredential(tx *store.DirTx, rawID, userHandle []byte) (*store.User, *store.Device, error) {
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
	case d.UserID != u.ID:
		return nil, nil, errUnknownCredential
	case !d.RevokedAt.IsZero():
		return nil, nil, errRevoked
	case u.Disabled:
		return nil, nil, errDisabled
	case identity.ParseRole(u.Role) == 0:
		return nil, nil, errDisabled
	}
	return u, d, nil
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
