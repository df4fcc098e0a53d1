package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// Two servers with passkey sessions on one database: a device's Subscribe
// stream on B ends when the device is revoked through A, at once, not at
// its access expiry (relay.go carries the ending from A to B's streams).
func TestReplicasEndEachOthersSessions(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	db := openURL(t, url)
	replica := func(db *pgstore.DB) *servertest.Env {
		return servertest.New(t, servertest.Options{Passkeys: true, Engine: syncengine.Config{Keepalive: time.Hour},
			Server: func(c *server.Config) { c.Store = db }})
	}
	a, b := replica(db), replica(openURL(t, url))
	token, device := seedSession(t, db)
	ctx := context.Background()

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a guard, far below the 15-minute access expiry
	defer cancel()
	stream, err := b.SyncClient(token).Subscribe(sctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() {
		t.Fatalf("B's stream ended before its first message: %v", stream.Err())
	}
	if _, err := a.AuthClient(token).RevokeDevice(ctx, &v1.RevokeDeviceRequest{DeviceId: device}); err != nil {
		t.Fatalf("RevokeDevice through A: %v", err)
	}
	for stream.Receive() {
	}
	if code := connect.CodeOf(stream.Err()); code != connect.CodeUnauthenticated {
		t.Fatalf("B's stream ended with %v (%v), want unauthenticated: the revocation on A did not reach it", code, stream.Err())
	}
	if r := closeReason(stream.Err()); r != v1.CloseReason_CLOSE_REASON_SESSION_ENDED {
		t.Fatalf("B's stream closed for %v, want the session ended", r)
	}
}

// closeReason is the reason in a stream's StreamClosed error detail.
func closeReason(err error) v1.CloseReason {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return v1.CloseReason_CLOSE_REASON_UNSPECIFIED
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if sc, ok := v.(*v1.StreamClosed); ok {
				return sc.GetReason()
			}
		}
	}
	return v1.CloseReason_CLOSE_REASON_UNSPECIFIED
}

// seedSession stores a worker with a device and a passkey session on it,
// and returns the session's access token and the device's id.
func seedSession(t *testing.T, db store.DirectoryStore) (token, device string) {
	t.Helper()
	now := time.Now()
	w := fixture.NewWorld(t, db)
	u, _ := w.AddUser("Sam", w.AreaA, identity.Worker, now, w.TeamA1)
	token, device = auth.NewToken(auth.AccessPrefix), fixture.NewID()
	w.Directory(func(tx store.DirTx) error {
		d := &store.Device{ID: device, UserID: u.ID, Name: "Outreach tablet", CreatedAt: now, LastUsedAt: now}
		if err := tx.PutDevice(d); err != nil {
			return err
		}
		return tx.PutSession(&store.Session{ID: fixture.NewID(), UserID: u.ID, DeviceID: d.ID,
			AccessHash: auth.HashSecret(token), RefreshHash: auth.HashSecret(auth.NewToken(auth.RefreshPrefix)),
			CreatedAt: now, LastUsedAt: now, AccessExpiresAt: now.Add(15 * time.Minute),
			RefreshExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour), GraceClosed: true})
	})
	return token, device
}
