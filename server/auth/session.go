package auth

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Refresh exchanges a session's refresh token for new access and refresh
// tokens. The refresh token's idle expiry starts again, but never past the
// session's absolute expiry. The old refresh token stops working; if it is
// presented again, someone holds a copy (the device or a thief), so the
// whole session ends.
//
// Except for a lost response, as narrowly as that can be told: a device on
// a flaky link may never receive the answer to a refresh the server
// committed, and retry with the token it still holds. So the refresh token
// a session last replaced (PreviousRefreshHash) is answered once more if it
// comes back within RefreshGrace of that replacement and the pair that
// replaced it was never used: not presented to Identify (which records its
// first use, GraceClosed) nor refreshed (which would have made it the
// previous token in turn). The answer is a new pair that replaces the
// unseen one, so only one pair is ever live, and it closes the window: a
// second retry is reuse and ends the session, as does the old token after
// the new pair was used. The session's open streams end too (the unseen
// access token may have opened some; the device reconnects with the new
// one). Such answers leave the session's LastUsedAt (the time of the
// replacement) alone. A replaced, unseen refresh token that turns up later
// is reuse like any other: someone else had that response. (The store
// leaves it indexed to the session, as a current refresh hash that is not
// becoming the previous one.)
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*v1.Session, error) {
	refreshToken = strings.TrimSpace(refreshToken)
	if !strings.HasPrefix(refreshToken, RefreshPrefix) || len(refreshToken) > maxTokenLen {
		return nil, errSessionOver
	}
	hash := HashSecret(refreshToken)
	var (
		out     *v1.Session
		reason  string
		retried bool // answered again within the grace window
		ended   endedSessions
		sess    *store.Session
	)
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		out, reason, retried, ended, sess = nil, "", false, endedSessions{}, nil
		var err error
		sess, err = tx.SessionByRefresh(hash)
		if errors.Is(err, store.ErrNotFound) {
			reason = "unknown"
			return nil
		}
		if err != nil {
			return err
		}
		now := s.now()
		current := bytes.Equal(hash, sess.RefreshHash)
		retried = !current && s.lostResponse(sess, hash, now)
		switch {
		case !current && !retried:
			reason = "reused" // a replaced token, outside the grace rule
		case !now.Before(sess.AbsoluteExpiresAt):
			reason = "absolute_expired"
		case !now.Before(sess.RefreshExpiresAt):
			reason = "idle_expired"
		}
		var user *store.User
		var device *store.Device
		if reason == "" {
			user, device, reason, err = s.holder(tx, sess)
			if err != nil {
				return err
			}
		}
		if reason != "" {
			ended, err = endSessions(tx, []string{sess.ID})
			return err
		}
		out, err = s.rotate(tx, sess, user, device, retried, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify.ended(ended)
	if reason != "" {
		ev := s.log.Info()
		if reason == "reused" {
			ev = s.log.Warn().Str("user_id", sess.UserID).Str("device_id", sess.DeviceID).Str("session_id", sess.ID)
		}
		ev.Str("event", "refresh_refused").Str("reason", reason).Msg("session refresh refused")
		return nil, errSessionOver
	}
	if retried {
		// Streams opened with the replaced pair's access token end; the
		// device reconnects with the new one.
		s.notify.end(sess.ID)
		s.log.Info().Str("event", "refresh_retried").Str("user_id", sess.UserID).Str("device_id", sess.DeviceID).
			Str("session_id", sess.ID).Msg("lost refresh answered again within the grace window")
		return out, nil
	}
	s.notify.extend(sess.ID, sess.AccessExpiresAt)
	return out, nil
}

// rotate gives sess a new pair of tokens and returns them. A rotation opens
// the grace window of the refresh token it replaces; a retry's answer
// (retried) replaces the unseen pair and closes the window.
func (s *Service) rotate(tx store.DirTx, sess *store.Session, user *store.User, device *store.Device, retried bool, now time.Time) (*v1.Session, error) {
	t := tokens{access: NewToken(AccessPrefix), refresh: NewToken(RefreshPrefix)}
	if !retried {
		sess.PreviousRefreshHash = sess.RefreshHash
		sess.LastUsedAt = now
	}
	sess.GraceClosed = retried
	sess.RefreshHash = HashSecret(t.refresh)
	sess.AccessHash = HashSecret(t.access)
	sess.AccessExpiresAt = earliest(now.Add(s.cfg.AccessTTL), sess.AbsoluteExpiresAt)
	sess.RefreshExpiresAt = earliest(now.Add(s.cfg.RefreshIdle), sess.AbsoluteExpiresAt)
	if err := tx.PutSession(sess); err != nil {
		return nil, err
	}
	device.LastUsedAt = now
	if err := tx.PutDevice(device); err != nil {
		return nil, err
	}
	return sessionMessage(sess, t, user), nil
}

// lostResponse reports whether hash, which is not sess's current refresh
// token, is the one sess last replaced, presented while its grace window
// is open.
func (s *Service) lostResponse(sess *store.Session, hash []byte, now time.Time) bool {
	return bytes.Equal(hash, sess.PreviousRefreshHash) && s.graceOpen(sess, now)
}

// graceOpen reports whether the refresh token sess last replaced may still
// be answered once: within RefreshGrace of the replacement, and before the
// pair that replaced it was used or that token was answered already.
func (s *Service) graceOpen(sess *store.Session, now time.Time) bool {
	return len(sess.PreviousRefreshHash) > 0 && !sess.GraceClosed && now.Before(sess.LastUsedAt.Add(s.cfg.RefreshGrace))
}

// closeGrace records that the pair with this access token has been used,
// which ends the grace window of the refresh token it replaced. It writes
// only while that window is open, once: every later call sees it closed
// and reads. It runs in a transaction of its own, so a retry of the old
// token either commits first (and this pair is replaced, so the call is
// refused) or sees the window closed (and is reuse).
func (s *Service) closeGrace(ctx context.Context, sessionID string, accessHash []byte) error {
	return s.st.Directory(ctx, func(tx store.DirTx) error {
		sess, err := tx.Session(sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(sess.AccessHash, accessHash) || !s.graceOpen(sess, s.now()) {
			return nil
		}
		sess.GraceClosed = true
		return tx.UpdateSession(sess)
	})
}

// holder returns the user and device of a session, or the reason they may
// no longer use it.
func (s *Service) holder(tx store.DirTx, sess *store.Session) (*store.User, *store.Device, string, error) {
	u, err := tx.User(sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, "user_gone", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	if u.Disabled {
		return nil, nil, "user_disabled", nil
	}
	d, err := tx.Device(sess.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, "device_gone", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	if !d.RevokedAt.IsZero() || d.UserID != u.ID {
		return nil, nil, "device_revoked", nil
	}
	return u, d, "", nil
}

// Logout ends the caller's session. A device holds one session at a time
// (signing in again replaces it), so that is every session of the calling
// device.
func (s *Service) Logout(ctx context.Context, id *identity.Identity) error {
	var ended endedSessions
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		var mine []string
		for _, sid := range tx.SessionsOfDevice(id.DeviceID) {
			sess, err := tx.Session(sid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if sess.UserID == id.UserID {
				mine = append(mine, sid)
			}
		}
		var err error
		ended, err = endSessions(tx, mine)
		return err
	})
	if err != nil {
		return err
	}
	s.notify.ended(ended)
	s.log.Info().Str("event", "logout").Str("user_id", id.UserID).Str("device_id", id.DeviceID).Msg("signed out")
	return nil
}

// ListDevices returns the caller's devices, oldest first, revoked ones
// included.
func (s *Service) ListDevices(ctx context.Context, id *identity.Identity) ([]*v1.Device, error) {
	var devices []*store.Device
	err := s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		devices = nil
		for _, did := range tx.DevicesOfUser(id.UserID) {
			d, err := tx.Device(did)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			devices = append(devices, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(devices, func(a, b *store.Device) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]*v1.Device, 0, len(devices))
	for _, d := range devices {
		m := &v1.Device{DeviceId: d.ID, Name: d.Name, CreatedAt: ts(d.CreatedAt), LastUsedAt: ts(d.LastUsedAt),
			RevokedAt: ts(d.RevokedAt), Current: d.ID == id.DeviceID}
		out = append(out, m)
	}
	return out, nil
}

// RevokeDevice revokes one of the caller's own devices: it can no longer
// sign in, and its sessions and open streams end at once. Revoking a
// passkey's primary device (the one it was enrolled on) revokes the passkey:
// every other installation it signed in on is revoked with it and their
// sessions end too. Revoking another installation revokes only that one.
// Another user's device, or one that does not exist, is NotFound. Revoking
// a revoked device again changes nothing.
func (s *Service) RevokeDevice(ctx context.Context, id *identity.Identity, deviceID string) error {
	return s.RevokeDeviceIf(ctx, id, deviceID, func(_ store.DirTx, d *store.Device) error {
		if d == nil || d.UserID != id.UserID {
			return errNoDevice
		}
		return nil
	})
}

// RevokeDeviceIf revokes a device as RevokeDevice does, on behalf of id,
// if may allows it: may runs in the revoking transaction with the device
// (nil if there is none) and refuses with an error, which is returned as
// it is. The admin package lets an admin revoke their area's users'
// devices this way; the revocation is audited as revoke_device by id.
func (s *Service) RevokeDeviceIf(ctx context.Context, id *identity.Identity, deviceID string, may func(tx store.DirTx, d *store.Device) error) error {
	var (
		ended endedSessions
		also  int
	)
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		ended, also = endedSessions{}, 0
		d, err := tx.Device(deviceID)
		if errors.Is(err, store.ErrNotFound) {
			d, err = nil, nil
		}
		if err != nil {
			return err
		}
		if err := may(tx, d); err != nil {
			return err
		}
		if d == nil {
			return errNoDevice
		}
		revoke := []*store.Device{d}
		if d.IsPrimary() {
			others, err := tx.Installations(d.UserID, d.ID)
			if err != nil {
				return err
			}
			revoke, also = append(revoke, others...), len(others)
		}
		now := s.now()
		for _, r := range revoke {
			if r.RevokedAt.IsZero() {
				r.RevokedAt = now
				if err := tx.PutDevice(r); err != nil {
					return err
				}
			}
			ids, err := endSessions(tx, tx.SessionsOfDevice(r.ID))
			if err != nil {
				return err
			}
			ended = ended.add(ids)
		}
		a := audit.Entry(ctx, id, store.AuditRevokeDevice, now)
		a.RecordID, a.Count = deviceID, uint64(len(revoke))
		return tx.AppendAudit(a)
	})
	if err != nil {
		return err
	}
	s.notify.ended(ended)
	s.log.Info().Str("event", "device_revoked").Str("user_id", id.UserID).Str("device_id", deviceID).
		Str("by_device_id", id.DeviceID).Int("also_revoked", also).Msg("device revoked")
	return nil
}

// EndUserSessions deletes every session of a user and ends their open
// streams; the admin package calls it when it disables a user (after the
// user record is stored as disabled, so that no new session can start).
func (s *Service) EndUserSessions(ctx context.Context, userID string) error {
	var ended endedSessions
	err := s.st.Directory(ctx, func(tx store.DirTx) error {
		var err error
		ended, err = endSessions(tx, tx.SessionsOfUser(userID))
		return err
	})
	if err != nil {
		return err
	}
	s.notify.ended(ended)
	s.log.Info().Str("event", "user_sessions_ended").Str("user_id", userID).Int("sessions", len(ended.ids)).Msg("sessions ended")
	return nil
}

// CaseloadChanged tells the open streams of these users that their buckets
// changed, so that their devices pull again; the admin package calls it
// after it commits an assignment, a team change or a new client.
func (s *Service) CaseloadChanged(userIDs ...string) { s.notify.changed(userIDs...) }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
