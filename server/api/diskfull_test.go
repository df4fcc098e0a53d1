package api_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/diskspace"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// fillableDisk is a free-space probe the test fills and empties.
type fillableDisk struct {
	mu   sync.Mutex
	free uint64
}

func (d *fillableDisk) set(free uint64) {
	d.mu.Lock()
	d.free = free
	d.mu.Unlock()
}

func (d *fillableDisk) probe() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.free, nil
}

const minFree = 512 << 20

// diskEnv serves the API with a disk guard over disk, on clock, logging to
// logs; the other services are the generated Unimplemented handlers, so a
// call that gets past the guard says Unimplemented.
func diskEnv(t *testing.T, disk *fillableDisk, clock *fixture.Clock, logs *fixture.Logs) *servertest.Env {
	t.Helper()
	guard, err := diskspace.New(diskspace.Config{Probe: disk.probe, MinFree: minFree, Now: clock.Now, Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	return servertest.New(t, servertest.Options{Configure: func(c *api.Config) {
		c.Disk = guard
		c.Auth = throughcarev1connect.UnimplementedAuthServiceHandler{}
		c.Admin = throughcarev1connect.UnimplementedAdminServiceHandler{}
		c.Review = throughcarev1connect.UnimplementedReviewServiceHandler{}
	}})
}

func TestFullDiskRefusesPushesKeepsPullsAndRecovers(t *testing.T) {
	disk, clock, logs := &fillableDisk{free: 10 << 30}, fixture.NewClock(time.Unix(1_800_000_000, 0)), &fixture.Logs{}
	env := diskEnv(t, disk, clock, logs)
	clientID := sample.NewDevice("seed", time.Now, 1).NewID()
	w := newAdmin(t, env, "admin-a", 2, []string{clientID})
	_, chs := w.dev.NewClient("Lambeth")
	for _, c := range chs {
		c.RecordId, c.ClientId = clientID, clientID
	}
	if _, err := w.client.Push(context.Background(), pushReq(chs...)); err != nil {
		t.Fatalf("Push with room: %v", err)
	}

	disk.set(100 << 20)
	clock.Advance(2 * time.Second)
	_, contact := w.dev.NewContact(clientID, time.Now())
	for range 3 {
		_, err := w.client.Push(context.Background(), pushReq(contact...))
		cerr := assertCode(t, "Push on a full disk", err, connect.CodeResourceExhausted)
		want := "the server's disk is nearly full (100 MiB free, 512 MiB required); writes are refused until space is freed"
		if cerr.Message() != want {
			t.Fatalf("message = %q, want %q", cerr.Message(), want)
		}
		if recs, _, _ := pullAll(t, w.client, nil, 0); len(recs) != 1 || recs[clientID] == nil {
			t.Fatalf("Pull on a full disk got %d records, want the client pushed before", len(recs))
		}
	}
	if got := strings.Count(logs.String(), "disk nearly full"); got != 1 {
		t.Fatalf("%d warnings over several refused pushes, want 1:\n%s", got, logs)
	}

	disk.set(2 << 30)
	clock.Advance(2 * time.Second)
	if _, err := w.client.Push(context.Background(), pushReq(contact...)); err != nil {
		t.Fatalf("Push once space was freed: %v", err)
	}
	if recs, _, _ := pullAll(t, w.client, nil, 0); len(recs) != 2 {
		t.Fatalf("pulled %d records after recovery, want the client and the contact", len(recs))
	}
	if !strings.Contains(logs.String(), "writes resume") {
		t.Fatalf("recovery not logged:\n%s", logs)
	}
}

// writesWhenFull lists the procedures refused on a full disk; every other
// one must get past the guard (sessions keep working so tablets stay signed
// in and can read, and a lost device can still be revoked).
var writesWhenFull = map[string]bool{
	throughcarev1connect.SyncServicePushProcedure:              true,
	throughcarev1connect.AdminServiceCreateTeamProcedure:       true,
	throughcarev1connect.AdminServiceCreateInviteProcedure:     true,
	throughcarev1connect.AdminServiceRevokeInviteProcedure:     true,
	throughcarev1connect.AdminServiceDisableUserProcedure:      true,
	throughcarev1connect.AdminServiceCreateClientProcedure:     true,
	throughcarev1connect.AdminServiceAssignClientProcedure:     true,
	throughcarev1connect.AdminServiceUnassignClientProcedure:   true,
	throughcarev1connect.AdminServiceSetRetentionProcedure:     true,
	throughcarev1connect.AdminServiceCloseClientProcedure:      true,
	throughcarev1connect.ReviewServiceReviewContactProcedure:   true,
	throughcarev1connect.ReviewServiceResolveConflictProcedure: true,
	throughcarev1connect.AuthServiceBeginEnrollmentProcedure:   true,
	throughcarev1connect.AuthServiceFinishEnrollmentProcedure:  true,

	throughcarev1connect.AdminServiceSetTOPIntervalProcedure: true,
}

func TestFullDiskRefusesEveryWriteProcedureAndNoRead(t *testing.T) {
	disk, clock := &fillableDisk{free: 1 << 20}, fixture.NewClock(time.Unix(1_800_000_000, 0))
	env := diskEnv(t, disk, clock, &fixture.Logs{})
	env.SignIn("t", identity.Identity{UserID: "admin", DeviceID: "d", Role: identity.Admin, Area: "Lambeth"})
	seen := 0
	for _, svc := range []string{throughcarev1connect.SyncServiceName, throughcarev1connect.AuthServiceName,
		throughcarev1connect.AdminServiceName, throughcarev1connect.ReviewServiceName} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			procedure := "/" + svc + "/" + string(m.Name())
			err := callEmpty(env, procedure, m.IsStreamingServer())
			if got, want := connect.CodeOf(err) == connect.CodeResourceExhausted, writesWhenFull[procedure]; got != want {
				t.Errorf("%s on a full disk: %v; want refused %v", procedure, err, want)
			}
			seen++
		}
	}
	if seen < len(writesWhenFull)+10 {
		t.Fatalf("only %d procedures found", seen)
	}
}

// callEmpty calls procedure with an empty message and returns its error.
func callEmpty(env *servertest.Env, procedure string, stream bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := connect.NewClient[emptypb.Empty, emptypb.Empty](env.HTTPClient, env.URL+procedure, connect.WithInterceptors(servertest.BearerToken("t")))
	if !stream {
		_, err := c.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
		return err
	}
	s, err := c.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Receive() {
		return nil // it streams: it got past the guard
	}
	return s.Err()
}

// A caller without a session (an enrolment) is refused on a full disk
// without learning how much space the server has.
func TestFullDiskTellsStrangersNothingOfTheDisk(t *testing.T) {
	disk, clock := &fillableDisk{free: 1 << 20}, fixture.NewClock(time.Unix(1_800_000_000, 0))
	env := diskEnv(t, disk, clock, &fixture.Logs{})
	c := connect.NewClient[emptypb.Empty, emptypb.Empty](env.HTTPClient, env.URL+throughcarev1connect.AuthServiceBeginEnrollmentProcedure)
	_, err := c.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("enrolment on a full disk: %v, want resource_exhausted", err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a connect error: %v", err)
	}
	if msg := ce.Message(); strings.Contains(msg, "MiB") || strings.Contains(msg, "disk") {
		t.Errorf("a stranger was told %q", msg)
	}
}
