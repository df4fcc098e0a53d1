package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// relayWorld is a worker assigned to a client and an admin of their area,
// each with a passkey session, on one database.
type relayWorld struct {
	client, worker, workerDevice string
	workerToken, adminToken      string
}

// Two servers with passkey sessions on one database: a worker's Subscribe
// stream on B ends when their device is revoked, or they are unassigned
// from the client, through A, at once rather than at the access expiry
// 15 minutes on (relay.go carries the ending from A to B's streams).
func TestReplicasEndEachOthersStreams(t *testing.T) {
	for _, c := range []struct {
		name   string
		end    func(ctx context.Context, a *servertest.Env, w relayWorld) error
		code   connect.Code
		reason v1.CloseReason
	}{
		{"device revoked", func(ctx context.Context, a *servertest.Env, w relayWorld) error {
			_, err := a.AuthClient(w.workerToken).RevokeDevice(ctx, &v1.RevokeDeviceRequest{DeviceId: w.workerDevice})
			return err
		}, connect.CodeUnauthenticated, v1.CloseReason_CLOSE_REASON_SESSION_ENDED},
		{"worker unassigned", func(ctx context.Context, a *servertest.Env, w relayWorld) error {
			_, err := a.AdminClient(w.adminToken).UnassignClient(ctx, &v1.UnassignClientRequest{ClientId: w.client, WorkerId: w.worker})
			return err
		}, connect.CodeAborted, v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED},
	} {
		// With A's announcements after a commit failing at first (the
		// database out of reach for a moment), B's stream ends all the
		// same: a session ending is announced inside its transaction, a
		// caseload change is sent again.
		for _, failing := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/%d announcements failing", c.name, failing), func(t *testing.T) {
				testReplicaEndsStream(t, failing, c.end, c.code, c.reason)
			})
		}
	}
}

func testReplicaEndsStream(t *testing.T, failing int, end func(ctx context.Context, a *servertest.Env, w relayWorld) error,
	code connect.Code, reason v1.CloseReason) {
	url := pgtest.Shared(t).Database(t, t.Name())
	replica := func(db *pgstore.DB, relay auth.Relay) *servertest.Env {
		return servertest.New(t, servertest.Options{Store: db, Passkeys: true, Engine: syncengine.Config{Keepalive: time.Hour},
			Server: func(c *server.Config) { c.Auth.Relay = relay }})
	}
	db := openURL(t, url)
	flaky := &flakyRelay{DB: db, failing: failing}
	a, b := replica(db, flaky), replica(openURL(t, url), nil)
	w := seedRelayWorld(t, db)
	ctx := context.Background()

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a guard, far below the access expiry
	defer cancel()
	stream, err := b.SyncClient(w.workerToken).Subscribe(sctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() {
		t.Fatalf("B's stream ended before its first message: %v", stream.Err())
	}
	if err := end(ctx, a, w); err != nil {
		t.Fatalf("through A: %v", err)
	}
	for stream.Receive() {
	}
	if got := connect.CodeOf(stream.Err()); got != code {
		t.Fatalf("B's stream ended with %v (%v), want %v: the change on A did not reach it", got, stream.Err(), code)
	}
	if r := closeReason(stream.Err()); r != reason {
		t.Fatalf("B's stream closed for %v, want %v", r, reason)
	}
}

// flakyRelay is a DB whose first failing announcements fail, as when the
// database cannot be reached for a moment after a commit.
type flakyRelay struct {
	*pgstore.DB
	mu      sync.Mutex
	failing int
}

func (r *flakyRelay) Announce(ctx context.Context, kind string, ids []string) error {
	r.mu.Lock()
	fail := r.failing > 0
	r.failing--
	r.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: injected", store.ErrUnavailable)
	}
	return r.DB.Announce(ctx, kind, ids)
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

func seedRelayWorld(t *testing.T, db store.DirectoryStore) relayWorld {
	t.Helper()
	now := time.Now()
	fw := fixture.NewWorld(t, db)
	worker, _ := fw.AddUser("Sam", fw.AreaA, identity.Worker, now, fw.TeamA1)
	admin, _ := fw.AddUser("Ari", fw.AreaA, identity.Admin, now)
	w := relayWorld{client: fw.AddClient(fw.AreaA, fw.TeamA1, now), worker: worker.ID}
	fw.Directory(func(tx store.DirTx) error {
		return tx.PutAssignment(&store.Assignment{ClientID: w.client, UserID: worker.ID, From: now.Add(-time.Hour)})
	})
	w.workerToken, w.workerDevice = seedSession(fw, worker.ID, now)
	w.adminToken, _ = seedSession(fw, admin.ID, now)
	return w
}

// seedSession stores a device of a user and a passkey session on it, and
// returns the session's access token and the device's id.
func seedSession(fw *fixture.World, user string, now time.Time) (token, device string) {
	token, device = auth.NewToken(auth.AccessPrefix), fixture.NewID()
	fw.Directory(func(tx store.DirTx) error {
		if err := tx.PutDevice(&store.Device{ID: device, UserID: user, Name: "Outreach tablet", CreatedAt: now, LastUsedAt: now}); err != nil {
			return err
		}
		return tx.PutSession(&store.Session{ID: fixture.NewID(), UserID: user, DeviceID: device,
			AccessHash: auth.HashSecret(token), RefreshHash: auth.HashSecret(auth.NewToken(auth.RefreshPrefix)),
			CreatedAt: now, LastUsedAt: now, AccessExpiresAt: now.Add(15 * time.Minute),
			RefreshExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour), GraceClosed: true})
	})
	return token, device
}
