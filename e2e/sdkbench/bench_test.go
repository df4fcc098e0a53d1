package sdkbench

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

const (
	origin   = servertest.RPOrigin
	clients  = 100
	contacts = 100_000
)

// env is an in-process server holding one worker's caseload.
type env struct {
	url    string
	hc     *http.Client
	wire   *atomic.Int64 // response bytes read by devices
	st     servertest.Store
	engine *syncengine.Engine
	key    *software.Key // the worker's (synced) passkey
	worker string
	seeder *sample.Device
	ids    []string // client ids
}

func newEnv(b *testing.B) *env {
	b.Helper()
	srv := servertest.New(b, servertest.Options{Dir: b.TempDir(), Passkeys: true})
	st, engine := srv.Store, srv.Engine
	e := &env{url: srv.URL, st: st, engine: engine, wire: new(atomic.Int64)}
	e.hc = &http.Client{Transport: &serverproc.Counting{Next: srv.HTTPClient.Transport, N: e.wire}}

	// The directory: an area, a team, and a worker enrolled with a passkey.
	ctx := context.Background()
	code := auth.NewInviteCode()
	areaID, teamID := uuid.NewString(), uuid.NewString()
	dir(b, st, func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: areaID, Name: "Lambeth", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.PutTeam(&store.Team{ID: teamID, AreaID: areaID, Name: "Outreach"}); err != nil {
			return err
		}
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(code), AreaID: areaID, Role: "worker", TeamID: teamID,
			DisplayName: "Sam Worker", CreatedBy: store.InviteByServer, ExpiresAt: time.Now().Add(time.Hour)})
	})
	e.key = software.New(origin)
	e.key.Synced = true
	first := e.device(b)
	if err := first.Enrol(ctx, e.key, code, "Tablet 1"); err != nil {
		b.Fatal(err)
	}
	e.worker = first.UserID()
	first.Close()

	// The caseload: clients assigned to the worker, with their contacts,
	// written as another device of the worker's would have.
	e.seeder = sample.NewDevice(e.worker, time.Now, 42)
	id := &identity.Identity{Area: "bench-area", UserID: e.worker, DeviceID: e.seeder.ID, Role: identity.Admin} // writes the client records too
	var batch []*v1.Change
	flush := func() {
		if len(batch) == 0 {
			return
		}
		resp, err := engine.Push(ctx, id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: batch})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range resp.GetResults() {
			if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
				b.Fatalf("seed: %v", r)
			}
		}
		batch = batch[:0]
	}
	at := time.Now().Add(-24 * time.Hour)
	for range clients {
		cid := uuid.Must(uuid.NewV7()).String()
		dir(b, st, func(tx store.DirTx) error {
			if err := tx.PutClient(&store.Client{ID: cid, AreaID: areaID, TeamID: teamID, CreatedAt: time.Now()}); err != nil {
				return err
			}
			return tx.PutAssignment(&store.Assignment{ClientID: cid, UserID: e.worker, From: at.Add(-time.Hour)})
		})
		e.ids = append(e.ids, cid)
		id.Buckets = append(id.Buckets, cid)
	}
	for _, cid := range e.ids {
		_, chs := clientRecord(e.seeder, cid)
		batch = append(batch, chs...)
		for range contacts / clients {
			_, chs := e.seeder.NewContact(cid, at)
			if len(batch)+len(chs) > 3000 {
				flush()
			}
			batch = append(batch, chs...)
		}
	}
	flush()
	return e
}

// clientRecord writes a client record (by an admin, in production).
func clientRecord(d *sample.Device, cid string) (string, []*v1.Change) {
	return cid, d.Record("client", cid, cid, []sample.Field{
		{Name: "given_name", Value: sample.Str("Sam")}, {Name: "family_name", Value: sample.Str("Jones")},
		{Name: "area", Value: sample.Str("Lambeth")}, {Name: "pathway", Value: sample.Str("licence")},
		{Name: "status", Value: sample.Str("active")},
	})
}

func dir(b *testing.B, st servertest.Store, fn func(store.DirTx) error) {
	b.Helper()
	if err := st.Directory(context.Background(), fn); err != nil {
		b.Fatal(err)
	}
}

// device opens a new SDK device on a fresh directory.
func (e *env) device(b *testing.B) *caseload.Device {
	b.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	d, err := caseload.Open(caseload.Config{Dir: b.TempDir(), Key: key, Server: e.url, HTTPClient: e.hc})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// signedIn opens a new tablet and signs the worker in on it.
func (e *env) signedIn(b *testing.B) *caseload.Device {
	b.Helper()
	d := e.device(b)
	if err := d.SignIn(context.Background(), e.key); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkFullSync100k: a new tablet's first sync of a 100-client,
// 100,000-contact caseload from the server into its encrypted local store,
// until it is up to date. Targets: under 1 s and under 15 MB on the wire.
func BenchmarkFullSync100k(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	var total time.Duration
	var wire int64
	for range b.N {
		b.StopTimer()
		d := e.signedIn(b)
		e.wire.Store(0)
		b.StartTimer()
		start := time.Now()
		rep, err := d.Sync(ctx)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		wire += e.wire.Load()
		if rep.Pulled != contacts+clients {
			b.Fatalf("pulled %d records, want %d", rep.Pulled, contacts+clients)
		}
		tl, err := d.Timeline(ctx, e.ids[0])
		if err != nil || len(tl.Contacts) != contacts/clients {
			b.Fatalf("timeline of a client: %d contacts, %v", len(tl.Contacts), err)
		}
		d.Close()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fullsync")
	b.ReportMetric(float64(wire)/1e6/float64(b.N), "wire-MB")
	b.ReportMetric(float64(contacts+clients)/(total.Seconds()/float64(b.N)), "records/s")
}

// BenchmarkReconnect: a tablet that was offline pushes the 50 contacts it
// logged and pulls the 200 made elsewhere meanwhile.
func BenchmarkReconnect(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	d := e.signedIn(b)
	defer d.Close()
	if _, err := d.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	id := &identity.Identity{Area: "bench-area", UserID: e.worker, DeviceID: e.seeder.ID, Role: identity.Worker, Buckets: e.ids}
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		for j := range 50 {
			if _, err := d.LogContact(ctx, e.ids[(i+j)%clients], caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Outcome: "Checked in"}); err != nil {
				b.Fatal(err)
			}
		}
		var chs []*v1.Change
		for k := range 200 {
			_, c := e.seeder.NewContact(e.ids[k%clients], time.Now())
			chs = append(chs, c...)
		}
		if _, err := e.engine.Push(ctx, id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}); err != nil {
			b.Fatal(err)
		}
		e.wire.Store(0)
		b.StartTimer()
		start := time.Now()
		rep, err := d.Sync(ctx)
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Accepted == 0 || rep.Pulled < 200 {
			b.Fatalf("reconnect %+v", rep)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms/reconnect")
}
