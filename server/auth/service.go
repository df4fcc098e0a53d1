package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Config configures the Service.
type Config struct {
	// RPID is the WebAuthn relying-party id: the bare domain the passkeys
	// belong to ("throughcare.example.org"), without scheme or port.
	RPID string
	// RPDisplayName is the name authenticators show for the relying party.
	RPDisplayName string
	// RPOrigins are the full origins ceremonies may come from
	// ("https://throughcare.example.org").
	RPOrigins []string
	// AccessTTL is how long an access token works (default 15 minutes).
	AccessTTL time.Duration
	// RefreshIdle is how long a refresh token works if unused (default 14
	// days: tablets may stay offline that long).
	RefreshIdle time.Duration
	// AbsoluteTTL is how long a session lives however it is used (default
	// 30 days).
	AbsoluteTTL time.Duration
	// RefreshGrace is how long after a refresh the refresh token it
	// replaced is still answered, once, if the pair that replaced it was
	// never used: the device evidently lost the response and is retrying
	// (default 2 minutes). See Refresh.
	RefreshGrace time.Duration
	// CeremonyTTL is how long a sign-in or enrolment ceremony stays open
	// (default 3 minutes).
	CeremonyTTL time.Duration
	// Now reads the clock (default time.Now).
	Now func() time.Time
	// Enrolled, if set, is called after each enrolment has committed,
	// before FinishEnrollment returns (the server deletes the bootstrap
	// invite's file with it once that invite is used).
	Enrolled func(ctx context.Context)
	// Relay, if set, carries session endings and caseload changes to the
	// other server processes sharing the directory, and theirs to this
	// one, so that open streams end on whichever process serves them
	// (notify.go). Nil: one process.
	Relay Relay
	// Logger records authentication events: ids and outcomes only, never
	// tokens, codes, credential ids, handles or names.
	Logger zerolog.Logger
}

// Service signs people in and resolves callers. It is safe for concurrent
// use.
type Service struct {
	cfg    Config
	st     store.DirectoryStore
	wa     *webauthn.WebAuthn
	log    zerolog.Logger
	notify *notifier
	// version numbers st's directory states if it can and nothing else
	// writes it (no Relay); nil: cache nothing (idcache.go).
	version directoryVersioner
	cache   idCache
}

var _ identity.Source = (*Service)(nil)

// Ceremony kinds.
const (
	kindEnroll = "enroll"
	kindLogin  = "login"
)

// Caller-safe errors.
var (
	errInvite      = errkind.E(errkind.NotFound, "invite not found or expired")
	errNoCeremony  = errkind.E(errkind.Precondition, "sign-in ceremony expired or already used; start again")
	errSessionOver = errkind.E(errkind.Unauthenticated, "session expired or ended; sign in again")
	errNoDevice    = errkind.E(errkind.NotFound, "device not found")
)

func verifyFailed(cause error) error {
	return errkind.Wrap(errkind.Unauthenticated, cause, "passkey verification failed")
}

// New returns a Service over the directory in st.
func New(cfg Config, st store.DirectoryStore) (*Service, error) {
	if st == nil {
		return nil, errors.New("auth: no store")
	}
	if cfg.RPID == "" || len(cfg.RPOrigins) == 0 {
		return nil, errors.New("auth: relying-party id and origins are required")
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = "Throughcare"
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshIdle <= 0 {
		cfg.RefreshIdle = 14 * 24 * time.Hour
	}
	if cfg.AbsoluteTTL <= 0 {
		cfg.AbsoluteTTL = 30 * 24 * time.Hour
	}
	if cfg.RefreshGrace <= 0 {
		cfg.RefreshGrace = 2 * time.Minute
	}
	if cfg.CeremonyTTL <= 0 {
		cfg.CeremonyTTL = 3 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             cfg.RPOrigins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	log := cfg.Logger.With().Str("component", "auth").Logger()
	notify := newNotifier(cfg.Now)
	if cfg.Relay != nil {
		notify.useRelay(cfg.Relay, log)
	}
	svc := &Service{cfg: cfg, st: st, wa: wa, log: log, notify: notify}
	if v, ok := st.(directoryVersioner); ok && cfg.Relay == nil {
		svc.version = v
	}
	return svc, nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// waUser adapts a directory user to go-webauthn. Only the credential of the
// device being used is offered, so a login can succeed with nothing else.
type waUser struct {
	handle      []byte
	name        string
	credentials []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// newHandle returns a random 64-byte WebAuthn user handle: it carries no
// information about the person.
func newHandle() []byte {
	b := make([]byte, 64)
	rand.Read(b)
	return b
}

// putCeremony stores the ceremony state go-webauthn returned, verbatim.
func (s *Service) putCeremony(ctx context.Context, kind string, sd *webauthn.SessionData, inviteHash []byte, deviceName string) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	c := &store.Ceremony{ID: uuid.NewString(), Kind: kind, Data: data, InviteHash: inviteHash,
		DeviceName: deviceName, ExpiresAt: s.now().Add(s.cfg.CeremonyTTL)}
	if err := s.st.Directory(ctx, func(tx store.DirTx) error { return tx.PutCeremony(c) }); err != nil {
		return "", err
	}
	return c.ID, nil
}

// takeCeremony consumes a live ceremony of the given kind inside tx. It
// returns errNoCeremony (a domain error for the caller, the transaction
// still commits) if there is none.
func (s *Service) takeCeremony(tx store.DirTx, id, kind string) (*store.Ceremony, *webauthn.SessionData, error) {
	if id == "" {
		return nil, nil, errNoCeremony
	}
	c, err := tx.Ceremony(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNoCeremony
	}
	if err != nil {
		return nil, nil, err
	}
	if err := tx.DeleteCeremony(id); err != nil {
		return nil, nil, err
	}
	if c.Kind != kind || !s.now().Before(c.ExpiresAt) {
		return nil, nil, errNoCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil || sd.Challenge == "" {
		return nil, nil, errNoCeremony
	}
	return c, &sd, nil
}

// tokens are the secrets of a session, returned once and stored as hashes.
type tokens struct{ access, refresh string }

// startSession creates a session for a user's device inside tx.
func (s *Service) startSession(tx store.DirTx, userID, deviceID string) (*store.Session, tokens, error) {
	now := s.now()
	t := tokens{access: NewToken(AccessPrefix), refresh: NewToken(RefreshPrefix)}
	abs := now.Add(s.cfg.AbsoluteTTL)
	sess := &store.Session{
		ID: uuid.NewString(), UserID: userID, DeviceID: deviceID,
		AccessHash: HashSecret(t.access), RefreshHash: HashSecret(t.refresh),
		CreatedAt: now, LastUsedAt: now,
		AccessExpiresAt:   earliest(now.Add(s.cfg.AccessTTL), abs),
		RefreshExpiresAt:  earliest(now.Add(s.cfg.RefreshIdle), abs),
		AbsoluteExpiresAt: abs,
	}
	return sess, t, tx.PutSession(sess)
}

// endSessions deletes sessions inside tx and returns their ids, announced
// to the other processes inside tx when its store can (announceIn).
func endSessions(tx store.DirTx, ids []string) (endedSessions, error) {
	for _, id := range ids {
		if err := tx.DeleteSession(id); err != nil {
			return endedSessions{}, err
		}
	}
	announced, err := announceIn(tx, relaySessionsEnded, ids)
	return endedSessions{ids: ids, announced: announced}, err
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sessionMessage is the wire form of a new or renewed session.
func sessionMessage(sess *store.Session, t tokens, u *store.User) *v1.Session {
	return &v1.Session{
		AccessToken: t.access, AccessExpiresAt: timestamppb.New(sess.AccessExpiresAt),
		RefreshToken: t.refresh, RefreshExpiresAt: timestamppb.New(sess.RefreshExpiresAt),
		AbsoluteExpiresAt: timestamppb.New(sess.AbsoluteExpiresAt),
		UserId:            sess.UserID, DeviceId: sess.DeviceID,
		Role: identity.ParseRole(u.Role).Proto(), AreaId: u.AreaID,
	}
}
