package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// actor is someone who pushes: their identity (as the session would
// resolve it) and their device.
type actor struct {
	id  *identity.Identity
	dev *sample.Device
}

// world is a Badger store in a temporary directory and an engine whose
// clock the test sets, with one client created by an admin and worked on
// by two workers and their supervisor.
type world struct {
	t          *testing.T
	dir        string
	st         *store.DB
	e          *syncengine.Engine
	cfg        syncengine.Config
	now        time.Time
	client     string
	admin, sup *actor
	w1, w2     *actor
	// start is when the workers were assigned.
	start time.Time
}

func newWorld(t *testing.T, cfg syncengine.Config) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), cfg: cfg, start: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	w.now = w.start
	w.open()
	w.admin = w.actor("admin", identity.Admin, 1)
	w.sup = w.actor("sup", identity.Supervisor, 2)
	w.w1 = w.actor("w1", identity.Worker, 3)
	w.w2 = w.actor("w2", identity.Worker, 4)
	client, chs := w.admin.dev.NewClient("Lambeth")
	w.client = client
	for _, a := range []*actor{w.admin, w.sup, w.w1, w.w2} {
		a.id.Buckets = []string{client}
	}
	chs = append(chs,
		w.admin.dev.Change("client", client, client, "risk_flags", sample.Add("violence"), nil),
		w.admin.dev.Change("client", client, client, "risk_flags", sample.Add("lone_working"), nil),
		w.admin.dev.Change("client", client, client, "keyworker_notes", sample.Str("Keyworker's running notes"), nil))
	w.pushAll(w.admin, chs, "applied")
	return w
}

// open opens the store in the world's directory and an engine over it.
func (w *world) open() {
	w.t.Helper()
	w.st = openStore(w.t, w.dir)
	cfg := w.cfg
	cfg.Store, cfg.Logger = w.st, zerolog.Nop()
	cfg.Now = func() time.Time { return w.now }
	e, err := syncengine.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.e = e
	w.t.Cleanup(w.close)
}

func (w *world) close() {
	if w.st != nil {
		w.e.Shutdown()
		w.st.Close()
		w.st = nil
	}
}

// restart closes the store and opens it again, with a new engine.
func (w *world) restart() {
	w.t.Helper()
	w.close()
	w.open()
}

func (w *world) actor(user string, role identity.Role, seed uint64) *actor {
	dev := sample.NewDevice(user, func() time.Time { return w.now }, seed)
	return &actor{id: &identity.Identity{UserID: user, DeviceID: dev.ID, Role: role, Area: "area"}, dev: dev}
}

// device returns another device of the same person.
func (w *world) device(a *actor, seed uint64) *actor {
	dev := sample.NewDevice(a.id.UserID, func() time.Time { return w.now }, seed)
	id := *a.id
	id.DeviceID = dev.ID
	return &actor{id: &id, dev: dev}
}

// unassign takes the client off a worker's caseload: the period they held
// it ends at end.
func (w *world) unassign(a *actor, end time.Time) {
	a.id.Buckets = nil
	a.id.Former = map[string][]identity.Period{w.client: {{From: w.start, To: end}}}
}

// at restamps changes as made at t (one user action: they share the wall
// time, with counters keeping them apart).
func at(t time.Time, chs ...*v1.Change) []*v1.Change {
	for i, ch := range chs {
		ch.Stamp.Time = hlc.Pack(t.UnixMilli(), uint16(i))
	}
	return chs
}

// push pushes changes; a push refused whole gives back its device
// sequence numbers, so the device's next push follows on.
func (w *world) push(a *actor, chs []*v1.Change) (*v1.PushResponse, error) {
	w.t.Helper()
	resp, err := w.e.Push(context.Background(), a.id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		a.dev.Seq -= uint64(len(chs))
	}
	return resp, err
}

// verdict names a change's outcome: applied, late, duplicate, or the
// reject reason in lower case.
func verdict(r *v1.ChangeResult) string {
	switch {
	case r.GetVerdict() == v1.Verdict_VERDICT_APPLIED && r.GetLate():
		return "late"
	case r.GetVerdict() == v1.Verdict_VERDICT_APPLIED:
		return "applied"
	case r.GetVerdict() == v1.Verdict_VERDICT_DUPLICATE:
		return "duplicate"
	}
	return strings.ToLower(strings.TrimPrefix(r.GetReason().String(), "REJECT_REASON_"))
}

// verdicts names the outcome of every change of a push, or the error.
func verdicts(resp *v1.PushResponse, err error) []string {
	var rejected *syncengine.RejectedError
	if errors.As(err, &rejected) {
		var out []string
		for _, p := range rejected.Problems {
			out = append(out, fmt.Sprintf("refused whole: %s %s", strings.ToLower(strings.TrimPrefix(p.GetProblem().String(), "PROBLEM_")), p.GetField()))
		}
		return out
	}
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, r := range resp.GetResults() {
		out = append(out, verdict(r))
	}
	return out
}

// pushAll pushes changes and wants every one to get the same verdict.
func (w *world) pushAll(a *actor, chs []*v1.Change, want string) *v1.PushResponse {
	w.t.Helper()
	resp, err := w.push(a, chs)
	for i, got := range verdicts(resp, err) {
		if got != want {
			w.t.Fatalf("change %d (%s.%s): %s, want %s (%v)", i, chs[min(i, len(chs)-1)].GetRecordType(), chs[min(i, len(chs)-1)].GetField(), got, want, resp.GetResults())
		}
	}
	return resp
}

// record returns a record's current state, or nil.
func (w *world) record(id string) *v1.RecordState {
	w.t.Helper()
	m, err := w.st.Records(context.Background(), w.client, []string{id})
	if err != nil {
		w.t.Fatal(err)
	}
	return m[id]
}

func (w *world) value(recordID, field string) *v1.Value {
	w.t.Helper()
	return merge.Field(w.record(recordID), field).GetValue()
}

// pull pulls to the end from cursor and returns the new cursor and the
// evictions seen.
func (w *world) pull(a *actor, cursor []byte) ([]byte, []string) {
	w.t.Helper()
	var evicted []string
	for {
		resp, err := w.e.Pull(context.Background(), a.id, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
		if err != nil {
			w.t.Fatalf("pull: %v", err)
		}
		for _, b := range resp.GetBuckets() {
			if b.GetAction() == v1.BucketAction_BUCKET_ACTION_EVICT {
				evicted = append(evicted, b.GetClientId())
			}
		}
		if cursor = resp.GetCursor(); !resp.GetHasMore() {
			return cursor, evicted
		}
	}
}

// goal returns the changes that create a goal.
func goal(d *sample.Device, client string) (string, []*v1.Change) {
	id := d.NewID()
	return id, d.Record("goal", id, client, []sample.Field{
		{Name: "domain", Value: sample.Str("housing")},
		{Name: "description", Value: sample.Str("Find a tenancy")},
		{Name: "status", Value: sample.Str("open")},
	})
}

const day = 24 * time.Hour

// lateWorld is a world in which worker 1 logged a contact and two goals
// and worker 2 a contact while both held the client, the supervisor
// changed one of worker 1's goals and queried their contact, and then
// worker 1 was taken off the client (at end); the server's clock reads two
// days later.
type lateWorld struct {
	*world
	end                      time.Time
	own, coworkers, drugTest string // contacts
	ownGoal, touchedGoal     string
	note                     string // the supervisor's query on own
}

func newLateWorld(t *testing.T, cfg syncengine.Config) *lateWorld {
	t.Helper()
	w := &lateWorld{world: newWorld(t, cfg)}
	w.now = w.start.Add(day)
	var chs []*v1.Change
	w.own, chs = w.w1.dev.NewContact(w.client, w.now)
	w.pushAll(w.w1, chs, "applied")
	w.coworkers, chs = w.w2.dev.NewContact(w.client, w.now)
	w.pushAll(w.w2, chs, "applied")
	w.drugTest, chs = w.w1.dev.NewContact(w.client, w.now)
	chs = append(chs, w.w1.dev.Change("contact", w.drugTest, w.client, "substances", sample.Add("opiates"), nil))
	w.pushAll(w.w1, chs, "applied")
	w.ownGoal, chs = goal(w.w1.dev, w.client)
	w.pushAll(w.w1, chs, "applied")
	w.touchedGoal, chs = goal(w.w1.dev, w.client)
	w.pushAll(w.w1, chs, "applied")
	w.now = w.now.Add(time.Minute)
	w.pushAll(w.sup, []*v1.Change{w.sup.dev.Change("goal", w.touchedGoal, w.client, "status", sample.Str("dropped"),
		merge.Field(w.record(w.touchedGoal), "status").GetStamp())}, "applied")
	w.note = w.sup.dev.NewID()
	w.pushAll(w.sup, w.sup.dev.Record("review_note", w.note, w.client, []sample.Field{
		{Name: "subject_id", Value: sample.Str(w.own)},
		{Name: "text", Value: sample.Str("Please add the outcome")},
		{Name: "state", Value: sample.Str("query_to_worker")},
	}), "applied")

	w.end = w.start.Add(10 * day)
	w.unassign(w.w1, w.end)
	w.now = w.end.Add(2 * day)
	return w
}

// observed returns the stamps of a set element's additions.
func observed(st *v1.RecordState, field, element string) []*v1.Stamp {
	for _, el := range merge.Field(st, field).GetValue().GetSetState().GetElements() {
		if el.GetElement() == element {
			return el.GetAdds()
		}
	}
	return nil
}
