package caseload

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Enrol redeems an invite on this device: a passkey is made with a (the
// platform's authenticator in an app, software.Key in tests) and the
// device is signed in. deviceName is how the device is listed to its owner.
func (d *Device) Enrol(ctx context.Context, a passkey.Authenticator, invite, deviceName string) error {
	d.mu.Lock()
	enrolled := d.session != nil
	d.mu.Unlock()
	if enrolled {
		return fmt.Errorf("caseload: this device is already enrolled; sign in instead")
	}
	s, err := passkey.Enrol(ctx, d.auth, a, invite, deviceName)
	if err != nil {
		return err
	}
	return d.saveSession(s)
}

// SignIn signs the device in again with a passkey, as the same device (so
// its unsynced changes keep their device id). Only the user whose caseload
// the device holds may sign in on it.
func (d *Device) SignIn(ctx context.Context, a passkey.Authenticator) error {
	s, err := passkey.SignIn(ctx, d.auth, a, d.DeviceID())
	if err != nil {
		return err
	}
	if prev := d.UserID(); prev != "" && s.GetUserId() != prev {
		// Sign the stranger's new session out again; the caseload stays.
		_, _ = d.auth.Logout(withToken(ctx, s.GetAccessToken()), &v1.LogoutRequest{})
		return ErrOtherUser
	}
	return d.saveSession(s)
}

// SignOut ends the session on the server. Local data, including unsynced
// changes, stays; signing in again resumes.
func (d *Device) SignOut(ctx context.Context) error {
	_, err := d.auth.Logout(ctx, &v1.LogoutRequest{})
	d.mu.Lock()
	if d.session != nil {
		d.session.AccessToken, d.session.RefreshToken = "", ""
	}
	s := proto.Clone(d.session).(*v1.Session)
	d.mu.Unlock()
	if perr := d.persistSession(s); perr != nil {
		return perr
	}
	return err
}

func (d *Device) saveSession(s *v1.Session) error {
	d.mu.Lock()
	if d.session != nil && d.session.GetDeviceId() != s.GetDeviceId() {
		d.mu.Unlock()
		// The server gave another device id (the old one was revoked): the
		// outbox is stamped with the old one and could never be sent.
		return fmt.Errorf("caseload: the server moved this device to a new device id; its unsynced changes cannot be sent under it")
	}
	first := d.session == nil
	d.session = s
	if first {
		d.startClock(0)
	}
	d.status.SignInRequired = false
	d.mu.Unlock()
	if err := d.persistSession(s); err != nil {
		return err
	}
	d.events.emit(Event{Kind: StatusChanged})
	return nil
}

func (d *Device) persistSession(s *v1.Session) error {
	raw, err := proto.Marshal(s)
	if err != nil {
		return err
	}
	return durable(d.db, func(txn *local.Txn) error { return setSession(txn, s, raw) })
}

// setSession stores a session (raw, encoded) and its user and device.
func setSession(txn *local.Txn, s *v1.Session, raw []byte) error {
	if err := txn.Set(metaUser, []byte(s.GetUserId())); err != nil {
		return err
	}
	if err := txn.Set(metaDevice, []byte(s.GetDeviceId())); err != nil {
		return err
	}
	return txn.Set(metaSession, raw)
}

// refresh swaps the refresh token for new tokens. An Unauthenticated answer
// means the session is over: ErrSignInRequired. Refreshes run one at a time,
// and one that waited for another's new tokens uses them: the server takes a
// refresh token presented twice for a stolen one and ends the session.
func (d *Device) refresh(ctx context.Context) error {
	d.mu.Lock()
	seen := d.session.GetRefreshToken()
	d.mu.Unlock()
	d.refreshMu.Lock()
	defer d.refreshMu.Unlock()
	d.mu.Lock()
	tok := d.session.GetRefreshToken()
	d.mu.Unlock()
	if tok != seen && tok != "" {
		return nil // refreshed while this call waited
	}
	if tok == "" {
		d.setStatus(func(s *Status) { s.SignInRequired = true })
		return ErrSignInRequired
	}
	resp, err := d.auth.Refresh(ctx, &v1.RefreshRequest{RefreshToken: tok})
	if connect.CodeOf(err) == connect.CodeUnauthenticated {
		d.setStatus(func(s *Status) { s.SignInRequired = true })
		return ErrSignInRequired
	}
	if err != nil {
		return err
	}
	return d.saveSession(resp.GetSession())
}

type tokenKey struct{}

// withToken makes one call with an explicit access token.
func withToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// bearer sends the session's access token with every call.
type bearer struct{ d *Device }

func (b *bearer) token(ctx context.Context) string {
	if t, ok := ctx.Value(tokenKey{}).(string); ok {
		return t
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	return b.d.session.GetAccessToken()
}

func (b *bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if t := b.token(ctx); t != "" {
			req.Header().Set("Authorization", "Bearer "+t)
		}
		return next(ctx, req)
	}
}

func (b *bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if t := b.token(ctx); t != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+t)
		}
		return conn
	}
}

func (b *bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// Interceptor authenticates an app's own calls to the server's other
// services (the AdminService, the ReviewService) as this device: it sends
// the device's session and, when the server answers a unary call
// unauthenticated, renews the session once and sends the call again, as
// Sync does (ErrSignInRequired if the session is over). Use it rather than
// a copy of the session: a refresh token presented twice ends the session.
func (d *Device) Interceptor() connect.Interceptor { return renewing{&bearer{d: d}} }

// renewing is the bearer, renewing the session on an unauthenticated answer.
type renewing struct{ *bearer }

func (r renewing) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	send := r.bearer.WrapUnary(next)
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		var resp connect.AnyResponse
		err := r.d.authed(ctx, func() error {
			var err error
			resp, err = send(ctx, req)
			return err
		})
		return resp, err
	}
}
