package syncengine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// failingAudit is a store whose bucket transactions cannot append audit
// entries: the audit write of an operation fails.
type failingAudit struct{ store.Store }

var errAuditDown = errors.New("audit trail unavailable")

func (f failingAudit) Buckets(ctx context.Context, fn func(tx store.BucketTx) error) error {
	return f.Store.Buckets(ctx, func(tx store.BucketTx) error { return fn(failingTx{tx}) })
}

type failingTx struct{ store.BucketTx }

func (failingTx) AppendAudit(*store.Audit) error { return errAuditDown }

// An accepted push leaves one audit entry (not one per change) in the
// push's transaction: who, from which device and address, which buckets,
// how many changes. A resent push applies nothing and leaves none.
func TestPushIsAuditedOncePerBatch(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	e := newEngine(t, st, nil)
	dev := sample.NewDevice("worker", time.Now, 5)
	client, chs := dev.NewClient("Leeds")
	id := &identity.Identity{Area: "area", UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}
	ctx := audit.WithAddress(context.Background(), "192.0.2.7")
	req := &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}
	for range 2 {
		if _, err := e.Push(ctx, id, req); err != nil {
			t.Fatal(err)
		}
	}
	got := fixture.AreaAudit(t, st, "area")
	if len(got) != 1 {
		t.Fatalf("%d audit entries after a push and its resend, want 1", len(got))
	}
	a := got[0]
	if a.Action != store.AuditPush || a.UserID != "worker" || a.Role != "admin" || a.DeviceID != dev.ID || a.Address != "192.0.2.7" ||
		a.Count != uint64(len(chs)) || !slices.Equal(a.ClientIDs, []string{client}) {
		t.Errorf("push entry = %+v, want %d changes to %s", a, len(chs), client)
	}
}

// If the audit entry cannot be written the push fails and nothing of it
// is kept; so does a supervisor's pull, which is not answered.
func TestAuditFailureFailsTheOperation(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	dev := sample.NewDevice("sup", time.Now, 6)
	client, chs := dev.NewClient("Leeds")
	id := &identity.Identity{Area: "area", UserID: "sup", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}
	broken := newEngine(t, failingAudit{st}, nil)
	_, err := broken.Push(context.Background(), id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if !errors.Is(err, errAuditDown) {
		t.Fatalf("Push with the audit down = %v, want its error", err)
	}
	if hwm, err := st.HighWater(context.Background(), dev.ID); err != nil || hwm != 0 {
		t.Fatalf("after the failed push the device's high-water mark is %d (%v), want 0: nothing kept", hwm, err)
	}
	pushOK(t, newEngine(t, st, nil), id, chs)
	pull := &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}
	sup := *id
	sup.Role = identity.Supervisor
	if resp, err := broken.Pull(context.Background(), &sup, pull); !errors.Is(err, errAuditDown) || resp != nil {
		t.Fatalf("a supervisor's Pull with the audit down = %v, %v; want no answer and its error", resp, err)
	}
	// A worker's pull of their own caseload is not audited, so it is answered.
	worker := *id
	worker.Role = identity.Worker
	if _, err := broken.Pull(context.Background(), &worker, pull); err != nil {
		t.Fatalf("a worker's Pull = %v", err)
	}
	got := fixture.AreaAudit(t, st, "area")
	if len(got) != 1 || got[0].Action != store.AuditPush {
		t.Errorf("entries = %+v, want only the successful push's", got)
	}
}

// A supervisor's pull and stream pages are audited with the buckets and
// the number of records they sent.
func TestSupervisorSyncReadsAreAudited(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	e := newEngine(t, st, nil)
	dev := sample.NewDevice("w", time.Now, 7)
	client, chs := dev.NewClient("Leeds")
	pushOK(t, e, &identity.Identity{Area: "area", UserID: "w", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}, chs)
	sup := &identity.Identity{Area: "area", UserID: "sup", DeviceID: "sup-tablet", Role: identity.Supervisor, Buckets: []string{client}}
	if _, err := e.Pull(context.Background(), sup, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := startStream(t, e, sup)
	if err != nil {
		t.Fatal(err)
	}
	s.end(t)
	var reads []*store.Audit
	for _, a := range fixture.AreaAudit(t, st, "area") {
		if a.UserID == "sup" {
			reads = append(reads, a)
		}
	}
	const records = 1 // the client record the worker created
	if len(reads) != 2 || reads[0].Action != store.AuditPull || reads[1].Action != store.AuditSubscribe {
		t.Fatalf("supervisor's entries = %+v, want a pull and a subscribe", reads)
	}
	for _, a := range reads {
		if a.Count != records || !slices.Equal(a.ClientIDs, []string{client}) || a.Role != "supervisor" || a.DeviceID != "sup-tablet" {
			t.Errorf("%v entry = %+v, want %d records of %s", a.Action, a, records, client)
		}
	}
}
