package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// maxTokenLen bounds the bearer secrets accepted (ours are 47 characters).
const maxTokenLen = 128

func unauthenticated(reason string) error {
	return fmt.Errorf("auth: %s: %w", reason, identity.ErrUnauthenticated)
}

// Identify resolves the caller of a request from its
// "Authorization: Bearer <access token>" header: the session, its user and
// device, the user's role and area, and the buckets they may sync.
//
// Session and device "last used" times move on when the session is
// refreshed (every AccessTTL at most while the device is active), which is
// precise enough. The one write is the first call with a new pair of tokens
// within the refresh grace window, which closes that window (closeGrace);
// every other request is read-only.
//
// The identity's Ended channel closes when the session ends or its access
// token expires unrenewed; Changed closes when the admin package reports a
// caseload change for the user (CaseloadChanged).
//
// Over a store that numbers its directory's states (directoryVersioner),
// what was resolved for a token is kept until the directory next changes
// (idcache.go): a call then reads nothing, but still checks the token's
// expiry against the clock and takes the channels.
func (s *Service) Identify(ctx context.Context, header http.Header) (*identity.Identity, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthenticated("no bearer token")
	}
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, AccessPrefix) || len(tok) > maxTokenLen {
		return nil, unauthenticated("not an access token")
	}
	hash := HashSecret(tok)
	if id, ok, err := s.cached(hash); ok {
		return id, err
	}
	id, r, err := s.identify(ctx, hash)
	if err != nil {
		return nil, err
	}
	if r.keep {
		s.cache.put(hash, r)
	}
	return id, nil
}

// identify resolves the caller whose access token hashes to hash from the
// directory, returning also what it resolved (for the cache), stamped
// with the directory's versions read before the reads they cover (a write
// during the reads moves them).
func (s *Service) identify(ctx context.Context, hash []byte) (*identity.Identity, *resolved, error) {
	var all uint64
	if s.version != nil {
		all = s.version.DirectoryVersion()
	}
	// First find the session, then take its channels, then check everything
	// in a newer snapshot: an ending committed after the channels were
	// taken closes them, one committed before is seen by the check.
	var sess *store.Session
	err := s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		var err error
		sess, err = tx.SessionByAccess(hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, unauthenticated("unknown access token")
	}
	if err != nil {
		return nil, nil, err
	}
	if reason := s.expired(sess); reason != "" {
		return nil, nil, unauthenticated(reason)
	}
	// The first call with a new pair ends the grace window of the refresh
	// token the pair replaced (see Refresh). Recorded before the check
	// below, so that the check sees whether a retry replaced this pair.
	if s.graceOpen(sess, s.now()) {
		if err := s.closeGrace(ctx, sess.ID, hash); err != nil {
			return nil, nil, err
		}
	}
	id := &identity.Identity{
		UserID: sess.UserID, DeviceID: sess.DeviceID,
		Ended:   s.notify.session(sess.ID, sess.AccessExpiresAt),
		Changed: s.notify.user(sess.UserID),
	}
	var user uint64 // sess's user's sessions and devices, read again below
	if s.version != nil {
		user = s.version.UserVersion(sess.UserID)
	}
	var r *resolved
	var reason string
	err = s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		var err error
		r, reason, err = s.resolve(tx, sess.ID, hash)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if reason != "" {
		return nil, nil, unauthenticated(reason)
	}
	r.fill(id)
	r.all, r.user = all, user
	r.keep = s.version != nil && r.sess.UserID == sess.UserID // else user is another user's
	return id, r, nil
}

// resolve checks in tx that the session still has this access token, that
// it has not expired and that its user and device may still use it, and
// returns the session with its user's role, area and caseload; or it says
// why not.
func (s *Service) resolve(tx store.DirTx, sessionID string, hash []byte) (*resolved, string, error) {
	cur, err := tx.Session(sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "session ended", nil
	}
	if err != nil {
		return nil, "", err
	}
	if !bytes.Equal(cur.AccessHash, hash) {
		return nil, "access token replaced", nil
	}
	if reason := s.expired(cur); reason != "" {
		return nil, reason, nil
	}
	u, d, why, err := s.holder(tx, cur)
	if err != nil || why != "" {
		return nil, why, err
	}
	if reason, err := primaryGone(tx, d); err != nil || reason != "" {
		return nil, reason, err
	}
	r := &resolved{sess: cur, role: identity.ParseRole(u.Role), area: u.AreaID}
	if r.role == 0 {
		return nil, "unknown role", nil
	}
	r.buckets, r.former, err = access.Caseload(tx, u, r.role)
	return r, "", err
}

// primaryGone says why the passkey behind an installation that is not its
// primary may no longer be used (its primary device revoked, gone, or not
// the same user's), or "". Revoking a primary revokes its installations
// too, so this only backs that up.
func primaryGone(tx store.DirTx, d *store.Device) (string, error) {
	if d.IsPrimary() {
		return "", nil
	}
	p, err := tx.Device(d.PrimaryID)
	if errors.Is(err, store.ErrNotFound) {
		return "device_gone", nil
	}
	if err != nil {
		return "", err
	}
	if !p.RevokedAt.IsZero() || p.UserID != d.UserID {
		return "device_revoked", nil
	}
	return "", nil
}

// expired says why a session's access token no longer works, or "".
func (s *Service) expired(sess *store.Session) string {
	now := s.now()
	switch {
	case !now.Before(sess.AbsoluteExpiresAt):
		return "session expired"
	case !now.Before(sess.AccessExpiresAt):
		return "access token expired"
	}
	return ""
}
