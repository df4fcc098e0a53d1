package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// BeginEnrollment starts registering a passkey for the person an invite
// names. The invite stays unused until FinishEnrollment succeeds; its code
// is never stored or logged, only its hash.
func (s *Service) BeginEnrollment(ctx context.Context, inviteCode, deviceName string) (*v1.BeginEnrollmentResponse, error) {
	deviceName = strings.TrimSpace(deviceName)
	if deviceName == "" {
		return nil, errkind.E(errkind.Invalid, "device_name is required")
	}
	if strings.TrimSpace(inviteCode) == "" {
		return nil, errInvite
	}
	hash := HashSecret(inviteCode)
	var in *store.Invite
	err := s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		var err error
		in, err = s.liveInvite(tx, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	user := &waUser{handle: newHandle(), name: in.DisplayName}
	// Attestation "none", a discoverable credential and user verification
	// required all come from the relying-party config (see New).
	creation, sd, err := s.wa.BeginRegistration(user)
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(creation)
	if err != nil {
		return nil, err
	}
	id, err := s.putCeremony(ctx, kindEnroll, sd, hash, deviceName)
	if err != nil {
		return nil, err
	}
	return &v1.BeginEnrollmentResponse{CeremonyId: id, OptionsJson: string(opts)}, nil
}

// liveInvite returns the invite with a code hash if it may still enrol
// someone (unexpired, for an existing area and role, and its inviter
// active), or errInvite.
func (s *Service) liveInvite(tx store.DirTx, hash []byte) (*store.Invite, error) {
	in, err := tx.Invite(hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvite
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(in.ExpiresAt) || identity.ParseRole(in.Role) == 0 {
		return nil, errInvite
	}
	if _, err := tx.Area(in.AreaID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errInvite
		}
		return nil, err
	}
	ok, err := InviterActive(tx, in)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errInvite
	}
	return in, nil
}

// InviterActive reports whether whoever made an invite still vouches for
// it: the server itself (store.InviteByServer), or a user of the invite's
// area who is not disabled. An invite whose inviter is disabled, unknown or
// in another area enrols nobody. Reading the inviter inside the enrolling
// transaction makes a concurrent DisableUser conflict with the enrolment.
func InviterActive(tx store.DirTx, in *store.Invite) (bool, error) {
	if in.CreatedBy == store.InviteByServer {
		return true, nil
	}
	if in.CreatedBy == "" {
		return false, nil
	}
	u, err := tx.User(in.CreatedBy)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !u.Disabled && u.AreaID == in.AreaID, nil
}

// FinishEnrollment verifies the attestation of an enrolment ceremony,
// creates the user the invite describes and their first device, marks the
// invite used (it is kept, so its managers see who used it) and signs the
// user in. All of it happens in one directory transaction, so an invite
// enrols one person even when finishes race, or races its revocation or
// its inviter being disabled. The ceremony is consumed whatever the
// outcome.
func (s *Service) FinishEnrollment(ctx context.Context, ceremonyID, credentialJSON string) (*v1.Session, error) {
	parsed, parseErr := protocol.ParseCredentialCreationResponseBytes([]byte(credentialJSON))
	var (
		out     *v1.Session
		failure error
		user    *store.User
	)
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		out, failure, user = nil, nil, nil
		c, sd, err := s.takeCeremony(tx, ceremonyID, kindEnroll)
		if err != nil {
			if errkind.Of(err) != 0 {
				failure = err
				return nil // commit: the ceremony is used up
			}
			return err
		}
		in, err := s.liveInvite(tx, c.InviteHash)
		if err != nil {
			if errkind.Of(err) != 0 {
				failure = err
				return nil
			}
			return err
		}
		if parseErr != nil {
			failure = verifyFailed(parseErr)
			return nil
		}
		cred, err := s.wa.CreateCredential(&waUser{handle: sd.UserID, name: in.DisplayName}, *sd, parsed)
		if err != nil {
			failure = verifyFailed(err)
			return nil
		}
		if _, err := tx.DeviceByCredential(cred.ID); err == nil {
			failure = errkind.E(errkind.Exists, "this passkey is already registered")
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.UserByHandle(sd.UserID); err == nil {
			return errors.New("auth: user handle collision") // 512 random bits: never
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		out, user, err = s.enrolUser(ctx, tx, c, in, sd, cred)
		return err
	})
	if err != nil {
		return nil, err
	}
	if failure != nil {
		s.log.Info().Str("event", "enrol_refused").Str("kind", kindLabel(failure)).Msg("enrolment refused")
		return nil, failure
	}
	s.log.Info().Str("event", "enrolled").Str("user_id", user.ID).Str("device_id", out.GetDeviceId()).
		Str("role", user.Role).Msg("user enrolled")
	if s.cfg.Enrolled != nil {
		s.cfg.Enrolled(ctx)
	}
	return out, nil
}

// enrolUser creates the user an invite describes with their first device,
// marks the invite used, audits the enrolment and starts the session.
func (s *Service) enrolUser(ctx context.Context, tx store.DirTx, c *store.Ceremony, in *store.Invite, sd *webauthn.SessionData, cred *webauthn.Credential) (*v1.Session, *store.User, error) {
	now := s.now()
	u := &store.User{ID: uuid.NewString(), AreaID: in.AreaID, DisplayName: in.DisplayName, Role: in.Role,
		Handle: sd.UserID, CreatedAt: now}
	if in.TeamID != "" {
		u.TeamIDs = []string{in.TeamID}
	}
	credBytes, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, err
	}
	d := &store.Device{ID: uuid.NewString(), UserID: u.ID, Name: c.DeviceName, CredentialID: cred.ID,
		Credential: credBytes, CreatedAt: now, LastUsedAt: now}
	if err := tx.PutUser(u); err != nil {
		return nil, nil, err
	}
	if err := tx.PutDevice(d); err != nil {
		return nil, nil, err
	}
	in.UsedBy, in.UsedAt = u.ID, now
	if err := tx.PutInvite(in); err != nil {
		return nil, nil, err
	}
	sess, t, err := s.startSession(tx, u.ID, d.ID)
	if err != nil {
		return nil, nil, err
	}
	a := audit.UserEntry(ctx, u, d.ID, store.AuditEnrol, now)
	a.RecordID, a.TeamID = in.ID, in.TeamID // the invite it used
	if err := tx.AppendAudit(a); err != nil {
		return nil, nil, err
	}
	return sessionMessage(sess, t, u), u, nil
}

func kindLabel(err error) string {
	switch errkind.Of(err) {
	case errkind.NotFound:
		return "not_found"
	case errkind.Precondition:
		return "no_ceremony"
	case errkind.Unauthenticated:
		return "verification_failed"
	case errkind.Exists:
		return "exists"
	}
	return "other"
}
