package review

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The world of the review tests:
//
//	area A "Lambeth": teams A1 "North", A2 "East"
//	  adminA; supA1 (A1); workers w1 "Sam Worker" (A1), w2 "Ali Worker" (A2)
//	  clients c1 "Alex Smith", c2 "Jo Jones", c6 "Lee Brown" (A1),
//	          c3 "Kelly Evans", c4 "Paul Walker", c5 "Wayne Taylor" (closed) (A2)
//	area B "Hackney": team B1; adminB; client cB
//
// The clock stands at Monday 16 March 2026, 12:00 UTC. Client records are
// written by their workers' tablets; nothing else is, until a test adds it.

var now0 = time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)

type world struct {
	t      *testing.T
	ctx    context.Context
	st     *store.DB
	svc    *Service
	engine *syncengine.Engine
	clock  *fixture.Clock
	logs   *fixture.Logs

	areaA, areaB           string
	teamA1, teamA2, teamB1 string
	adminA, supA1, adminB  *identity.Identity
	w1, w2                 *identity.Identity
	dev1, dev2             *sample.Device // the workers' tablets
	c1, c2, c3, c4, c5, c6 string
	cB                     string
}

func newID() string { return fixture.NewID() }

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, GCInterval: -1, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t, ctx: context.Background(), st: st, clock: fixture.NewClock(now0), logs: &fixture.Logs{}}
	if w.engine, err = syncengine.New(syncengine.Config{Store: st, Now: w.clock.Now, Keepalive: time.Hour, Logger: zerolog.Nop()}); err != nil {
		t.Fatal(err)
	}
	if w.svc, err = New(Config{Store: st, Now: w.clock.Now, Logger: zerolog.New(w.logs), Writer: w.engine}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.engine.Shutdown)
	fx := fixture.NewWorld(t, st)
	w.areaA, w.areaB = fx.AreaA, fx.AreaB
	w.teamA1, w.teamA2, w.teamB1 = fx.TeamA1, fx.TeamA2, fx.TeamB1
	users := []*store.User{
		{ID: newID(), AreaID: w.areaA, DisplayName: "Ada Admin", Role: "admin"},
		{ID: newID(), AreaID: w.areaA, DisplayName: "Sue Supervisor", Role: "supervisor", TeamIDs: []string{w.teamA1}},
		{ID: newID(), AreaID: w.areaB, DisplayName: "Bea Admin", Role: "admin"},
		{ID: newID(), AreaID: w.areaA, DisplayName: "Sam Worker", Role: "worker", TeamIDs: []string{w.teamA1}},
		{ID: newID(), AreaID: w.areaA, DisplayName: "Ali Worker", Role: "worker", TeamIDs: []string{w.teamA2}},
	}
	w.c1, w.c2, w.c3, w.c4, w.c5, w.c6, w.cB = newID(), newID(), newID(), newID(), newID(), newID(), newID()
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clients := []*store.Client{
		{ID: w.c1, AreaID: w.areaA, TeamID: w.teamA1, CreatedAt: jan1},
		{ID: w.c2, AreaID: w.areaA, TeamID: w.teamA1, CreatedAt: jan1},
		{ID: w.c3, AreaID: w.areaA, TeamID: w.teamA2, CreatedAt: jan1},
		{ID: w.c4, AreaID: w.areaA, TeamID: w.teamA2, CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{ID: w.c5, AreaID: w.areaA, TeamID: w.teamA2, CreatedAt: jan1},
		{ID: w.c6, AreaID: w.areaA, TeamID: w.teamA1, CreatedAt: jan1},
		{ID: w.cB, AreaID: w.areaB, TeamID: w.teamB1, CreatedAt: jan1},
	}
	err = st.Directory(w.ctx, func(tx store.DirTx) error {
		for _, u := range users {
			u.Handle = []byte(u.ID)
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		for _, c := range clients {
			if err := tx.PutClient(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ident := func(u *store.User, role identity.Role, buckets ...string) *identity.Identity {
		b := slices.Clone(buckets)
		slices.Sort(b)
		return &identity.Identity{UserID: u.ID, DeviceID: newID(), Role: role, Area: u.AreaID, Buckets: b}
	}
	w.adminA = ident(users[0], identity.Admin, w.c1, w.c2, w.c3, w.c4, w.c5, w.c6)
	w.supA1 = ident(users[1], identity.Supervisor, w.c1, w.c2, w.c6)
	w.adminB = ident(users[2], identity.Admin, w.cB)
	w.w1 = ident(users[3], identity.Worker, w.c1, w.c2, w.c6)
	w.w2 = ident(users[4], identity.Worker, w.c3, w.c4, w.c5)
	w.dev1 = sample.NewDevice(w.w1.UserID, w.clock.Now, 1)
	w.dev2 = sample.NewDevice(w.w2.UserID, w.clock.Now, 2)
	w.w1.DeviceID, w.w2.DeviceID = w.dev1.ID, w.dev2.ID

	for _, c := range []struct {
		id, given, family, status string
		dev                       *sample.Device
	}{
		{w.c1, "Alex", "Smith", "active", w.dev1}, {w.c2, "Jo", "Jones", "active", w.dev1}, {w.c6, "Lee", "Brown", "active", w.dev1},
		{w.c3, "Kelly", "Evans", "active", w.dev2}, {w.c4, "Paul", "Walker", "active", w.dev2}, {w.c5, "Wayne", "Taylor", "closed", w.dev2},
	} {
		w.push(c.dev, c.dev.Record("client", c.id, c.id, []sample.Field{
			{Name: "given_name", Value: sample.Str(c.given)}, {Name: "family_name", Value: sample.Str(c.family)},
			{Name: "area", Value: sample.Str("Lambeth")}, {Name: "pathway", Value: sample.Str("drr")},
			{Name: "status", Value: sample.Str(c.status)}, {Name: "housing_status", Value: sample.Str("hostel")},
		}), nil)
	}
	dB := sample.NewDevice("someone-b", w.clock.Now, 3)
	w.push(dB, dB.Record("client", w.cB, w.cB, []sample.Field{
		{Name: "given_name", Value: sample.Str("Bo")}, {Name: "family_name", Value: sample.Str("Other")},
		{Name: "area", Value: sample.Str("Hackney")}, {Name: "pathway", Value: sample.Str("drr")}, {Name: "status", Value: sample.Str("active")},
	}), nil)
	return w
}

// push writes a device's changes straight to the store (check may flag or
// refuse them, as the sync engine's authorisation would).
func (w *world) push(d *sample.Device, chs []*v1.Change, check func(*v1.Change, *v1.RecordState) syncengine.Decision) *syncengine.PushResult {
	w.t.Helper()
	res, err := syncengine.Apply(w.ctx, w.st, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: w.clock.Now(), Changes: chs, Check: check})
	if err != nil {
		w.t.Fatalf("push: %v", err)
	}
	for i, r := range res.Results {
		if r.Verdict != v1.Verdict_VERDICT_APPLIED {
			w.t.Fatalf("push: change %d (%s) %v %v", i, chs[i].GetField(), r.Verdict, r.Message)
		}
	}
	return res
}

// contact logs a contact on a worker's tablet and returns its id.
func (w *world) contact(d *sample.Device, client string, at time.Time, category string, extra ...sample.Field) string {
	w.t.Helper()
	id := d.NewID()
	fields := append([]sample.Field{
		{Name: "occurred_at", Value: sample.Time(at)}, {Name: "category", Value: sample.Str(category)},
		{Name: "mode", Value: sample.Str("office")}, {Name: "author", Value: sample.Str(d.UserID)},
		{Name: "notes", Value: sample.Str("Talked about the week ahead.")},
	}, extra...)
	w.push(d, d.Record("contact", id, client, fields), nil)
	return id
}

// record reads a record's expanded state.
func (w *world) record(client, id string) *v1.RecordState {
	w.t.Helper()
	m, err := w.st.Records(w.ctx, client, []string{id})
	if err != nil || m[id] == nil {
		w.t.Fatalf("record %s: %v %v", id, m, err)
	}
	return m[id]
}

// edit changes a field of a record on a device, as its user saw base.
func (w *world) edit(d *sample.Device, recordType, client, id, field string, v *v1.Value, base *v1.Stamp) {
	w.t.Helper()
	w.push(d, []*v1.Change{d.Change(recordType, id, client, field, v, base)}, nil)
}

// pull returns the records a caller's device gets on a full pull.
func (w *world) pull(id *identity.Identity) map[string]*v1.RecordState {
	w.t.Helper()
	out := map[string]*v1.RecordState{}
	var cursor []byte
	for {
		resp, err := w.engine.Pull(w.ctx, id, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
		if err != nil {
			w.t.Fatalf("pull: %v", err)
		}
		if resp, err = syncengine.Materialize(resp); err != nil {
			w.t.Fatal(err)
		}
		for _, b := range resp.GetBuckets() {
			for _, r := range b.GetRecords() {
				out[r.GetRecordId()] = merge.Expand(r)
			}
		}
		if cursor = resp.GetCursor(); !resp.GetHasMore() {
			return out
		}
	}
}

func fieldStr(r *v1.RecordState, field string) string {
	return merge.Field(r, field).GetValue().GetStringValue()
}

// kind returns the errkind of err (0 for nil or a non-domain error).
func kind(err error) errkind.Kind { return errkind.Of(err) }

func wantKind(t *testing.T, what string, err error, k errkind.Kind) {
	t.Helper()
	if kind(err) != k {
		t.Errorf("%s: error %v (kind %d), want kind %d", what, err, kind(err), k)
	}
}

var errStop = errors.New("stop")

// at is a time in March 2026 (UTC).
func at(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }

// appointment books an appointment on a worker's tablet with a status
// (and a reason, for did_not_attend) and returns its id.
func (w *world) appointment(d *sample.Device, client string, startsAt time.Time, typ, status, reason string) string {
	w.t.Helper()
	id := d.NewID()
	fields := []sample.Field{
		{Name: "appointment_type", Value: sample.Str(typ)}, {Name: "starts_at", Value: sample.Time(startsAt)},
		{Name: "status", Value: sample.Str(status)}, {Name: "author", Value: sample.Str(d.UserID)},
	}
	if reason != "" {
		fields = append(fields, sample.Field{Name: "dna_reason", Value: sample.Str(reason)})
	}
	w.push(d, d.Record("appointment", id, client, fields), nil)
	return id
}
