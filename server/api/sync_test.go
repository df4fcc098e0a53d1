package api_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect_proto", nil},
	{"connect_json", []connect.ClientOption{connect.WithProtoJSON()}},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"grpc_web", []connect.ClientOption{connect.WithGRPCWeb()}},
}

// worker sets up a signed-in device holding the given buckets.
type worker struct {
	dev    *sample.Device
	token  string
	client throughcarev1connect.SyncServiceClient
}

func newWorker(t *testing.T, env *servertest.Env, user string, seed uint64, buckets []string, opts ...connect.ClientOption) *worker {
	t.Helper()
	return newUser(t, env, identity.Worker, user, seed, buckets, opts...)
}

// newAdmin signs in an area admin, who may create client records.
func newAdmin(t *testing.T, env *servertest.Env, user string, seed uint64, buckets []string, opts ...connect.ClientOption) *worker {
	t.Helper()
	return newUser(t, env, identity.Admin, user, seed, buckets, opts...)
}

func newUser(t *testing.T, env *servertest.Env, role identity.Role, user string, seed uint64, buckets []string, opts ...connect.ClientOption) *worker {
	t.Helper()
	d := sample.NewDevice(user, time.Now, seed)
	tok := user + "-token"
	env.SignIn(tok, identity.Identity{UserID: user, DeviceID: d.ID, Role: role, Area: "Lambeth", Buckets: buckets})
	return &worker{dev: d, token: tok, client: env.SyncClient(tok, opts...)}
}

func pushReq(chs ...*v1.Change) *v1.PushRequest {
	return &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}
}

func pullReq(cursor []byte, limit uint32) *v1.PullRequest {
	return &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor, Limit: limit}
}

// pullAll follows has_more to the end and returns records by id, the last
// cursor and the actions seen per bucket.
func pullAll(t *testing.T, c throughcarev1connect.SyncServiceClient, cursor []byte, limit uint32) (map[string]*v1.RecordState, []byte, map[string][]v1.BucketAction) {
	t.Helper()
	recs := map[string]*v1.RecordState{}
	actions := map[string][]v1.BucketAction{}
	for range 10_000 {
		resp, err := c.Pull(context.Background(), pullReq(cursor, limit))
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		for _, b := range resp.GetBuckets() {
			actions[b.GetClientId()] = append(actions[b.GetClientId()], b.GetAction())
			for _, r := range b.GetRecords() {
				recs[r.GetRecordId()] = r
			}
		}
		cursor = resp.GetCursor()
		if !resp.GetHasMore() {
			return recs, cursor, actions
		}
	}
	t.Fatal("pull never finished")
	return nil, nil, nil
}

func TestPushPullEveryProtocol(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			env := servertest.New(t, servertest.Options{})
			seed := sample.NewDevice("seed", time.Now, 1)
			clientID := seed.NewID()
			w := newAdmin(t, env, "admin-a", 2, []string{clientID}, p.opts...)
			_, chs := w.dev.NewClient("Lambeth")
			for _, c := range chs { // make the client id the worker's bucket
				c.RecordId, c.ClientId = clientID, clientID
			}
			contact, cchs := w.dev.NewContact(clientID, time.Now())
			resp, err := w.client.Push(context.Background(), pushReq(append(chs, cchs...)...))
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			for i, r := range resp.GetResults() {
				if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED || r.GetPosition() != uint64(i+1) {
					t.Fatalf("result %d = %v, want applied at %d", i, r, i+1)
				}
			}
			if resp.GetServerTime() == nil {
				t.Fatal("push response lacks server_time")
			}
			recs, cursor, actions := pullAll(t, w.client, nil, 0)
			if len(recs) != 2 || recs[contact] == nil || recs[clientID] == nil {
				t.Fatalf("pulled %d records, want the client and the contact", len(recs))
			}
			if !slices.Equal(actions[clientID], []v1.BucketAction{v1.BucketAction_BUCKET_ACTION_SNAPSHOT}) {
				t.Fatalf("actions = %v, want one snapshot", actions[clientID])
			}
			if len(cursor) == 0 {
				t.Fatal("no cursor returned")
			}
			again, err := w.client.Push(context.Background(), pushReq(cchs...))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range again.GetResults() {
				if r.GetVerdict() != v1.Verdict_VERDICT_DUPLICATE {
					t.Fatalf("resent change verdict = %v, want duplicate", r.GetVerdict())
				}
			}
			recs, _, _ = pullAll(t, w.client, cursor, 0)
			if len(recs) != 0 {
				t.Fatalf("pull after a duplicate push returned %d records, want 0", len(recs))
			}
		})
	}
}

func TestEveryProcedureNeedsIdentity(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			for _, token := range []string{"", "unknown-token"} {
				c := env.SyncClient(token, p.opts...)
				_, err := c.Push(context.Background(), pushReq())
				assertCode(t, "Push", err, connect.CodeUnauthenticated)
				_, err = c.Pull(context.Background(), pullReq(nil, 0))
				assertCode(t, "Pull", err, connect.CodeUnauthenticated)
				stream, err := c.Subscribe(context.Background(), &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
				if err == nil {
					for stream.Receive() {
						t.Fatal("Subscribe sent a message without a session")
					}
					err = stream.Err()
					stream.Close()
				}
				assertCode(t, "Subscribe", err, connect.CodeUnauthenticated)
			}
		})
	}
}

func assertCode(t *testing.T, what string, err error, want connect.Code) *connect.Error {
	t.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != want {
		t.Fatalf("%s error = %v, want code %v", what, err, want)
	}
	return cerr
}

func detail[T any, PT interface {
	*T
	protoMessage
}](t *testing.T, cerr *connect.Error) PT {
	t.Helper()
	for _, d := range cerr.Details() {
		m, err := d.Value()
		if err != nil {
			continue
		}
		if v, ok := m.(PT); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("error %v lacks a %T detail", cerr, &zero)
	return nil
}

type protoMessage = proto.Message
