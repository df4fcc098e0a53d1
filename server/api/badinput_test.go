package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// assertUntouched checks that a refused push changed nothing.
func assertUntouched(t *testing.T, env *servertest.Env, w *worker, bucket string) {
	t.Helper()
	if hw, err := env.Store.HighWater(context.Background(), w.dev.ID); err != nil || hw != 0 {
		t.Fatalf("refused push moved the high-water mark to %d (%v)", hw, err)
	}
	if heads, err := env.Store.Heads(context.Background(), []string{bucket}); err != nil || heads[bucket] != 0 {
		t.Fatalf("refused push wrote %d log entries (%v)", heads[bucket], err)
	}
}

func TestMalformedPushesAreRefusedWhole(t *testing.T) {
	clock := fixture.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Now: clock.Now, MaxSkew: time.Minute}})
	seed := sample.NewDevice("seed", clock.Now, 9)
	bucket := seed.NewID()
	w := newWorker(t, env, "worker-a", 3, []string{bucket})
	w.dev = sample.NewDevice("worker-a", clock.Now, 3)
	env.SignIn(w.token, identity.Identity{UserID: "worker-a", DeviceID: w.dev.ID, Buckets: []string{bucket}})
	contact := func() []*v1.Change {
		_, chs := w.dev.NewContact(bucket, clock.Now())
		return chs
	}
	tests := []struct {
		name    string
		mutate  func([]*v1.Change) []*v1.Change
		problem v1.Problem
		field   string
	}{
		{"unknown_record_type", func(c []*v1.Change) []*v1.Change { c[2].RecordType = "visit"; return c }, v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE, "mode"},
		{"unknown_field", func(c []*v1.Change) []*v1.Change { c[2].Field = "shoe_size"; return c }, v1.Problem_PROBLEM_UNKNOWN_FIELD, "shoe_size"},
		{"wrong_value_type", func(c []*v1.Change) []*v1.Change { c[6].Value = sample.Str("forty"); return c }, v1.Problem_PROBLEM_WRONG_TYPE, "duration_minutes"},
		{"value_not_allowed", func(c []*v1.Change) []*v1.Change { c[1].Value = sample.Str("lunch"); return c }, v1.Problem_PROBLEM_INVALID_VALUE, "category"},
		{"missing_required_field", func(c []*v1.Change) []*v1.Change {
			c = append(c[:2], c[3:]...)
			for i := range c { // a device renumbers what it has not pushed
				c[i].DeviceSeq = uint64(i + 1)
			}
			return c
		}, v1.Problem_PROBLEM_MISSING_REQUIRED, "mode"},
		{"clock_too_far_ahead", func(c []*v1.Change) []*v1.Change {
			c[3].Stamp = &v1.Stamp{Time: hlc.Pack(clock.Now().Add(time.Hour).UnixMilli(), 0), Replica: c[3].Stamp.GetReplica()}
			return c
		}, v1.Problem_PROBLEM_CLOCK_AHEAD, "author"},
		{"stamped_as_another_device", func(c []*v1.Change) []*v1.Change {
			c[0].Stamp = &v1.Stamp{Time: c[0].Stamp.GetTime(), Replica: "someone-else"}
			return c
		}, v1.Problem_PROBLEM_MALFORMED, "occurred_at"},
		{"device_seq_out_of_order", func(c []*v1.Change) []*v1.Change {
			c[1].DeviceSeq, c[2].DeviceSeq = c[2].DeviceSeq, c[1].DeviceSeq
			return c
		}, v1.Problem_PROBLEM_MALFORMED, "category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.client.Push(context.Background(), pushReq(tt.mutate(contact())...))
			cerr := assertCode(t, "Push", err, connect.CodeInvalidArgument)
			rej := detail[v1.PushRejected](t, cerr)
			if len(rej.GetProblems()) == 0 {
				t.Fatal("PushRejected lists no problems")
			}
			p := rej.GetProblems()[0]
			if p.GetProblem() != tt.problem || p.GetField() != tt.field {
				t.Fatalf("problem = %v on %q (%s), want %v on %q", p.GetProblem(), p.GetField(), p.GetMessage(), tt.problem, tt.field)
			}
			named := tt.field
			if tt.problem == v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
				named = "visit"
			}
			if !strings.Contains(cerr.Message(), named) || !strings.Contains(cerr.Message(), "device_seq") {
				t.Fatalf("error message %q does not name the change and %s", cerr.Message(), named)
			}
			if rej.GetServerTime() == nil {
				t.Fatal("PushRejected lacks the server time")
			}
			assertUntouched(t, env, w, bucket)
		})
	}
}

func TestBadRequestsAreTyped(t *testing.T) {
	env := servertest.New(t, servertest.Options{MaxRequestBytes: 64 << 10})
	bucket := sample.NewDevice("seed", time.Now, 1).NewID()
	w := newWorker(t, env, "worker-a", 4, []string{bucket})
	ctx := context.Background()

	_, err := w.client.Push(ctx, &v1.PushRequest{SchemaVersion: 1})
	assertCode(t, "push without protocol version", err, connect.CodeInvalidArgument)
	_, err = w.client.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version + 1, SchemaVersion: 1})
	assertCode(t, "push with a future protocol", err, connect.CodeFailedPrecondition)
	_, err = w.client.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 99})
	assertCode(t, "pull with a future schema", err, connect.CodeFailedPrecondition)

	big := pushReq(w.dev.Change("contact", bucket, bucket, "notes", sample.Str(strings.Repeat("x", 100<<10)), nil))
	_, err = w.client.Push(ctx, big)
	assertCode(t, "oversized push", err, connect.CodeResourceExhausted)

	for name, body := range map[string][]byte{
		"garbage":         []byte("\xff\xff\xff\xff not protobuf"),
		"truncated_field": {0x1a, 0x80, 0x01, 0x0a},
	} {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/throughcare.v1.SyncService/Push", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/proto")
		req.Header.Set("Authorization", "Bearer "+w.token)
		resp, err := env.HTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s body: HTTP %d, want 400 (invalid_argument)", name, resp.StatusCode)
		}
	}
	assertUntouched(t, env, w, bucket)
}

func TestCursorsThatAreNotOursAskForReset(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	other := servertest.New(t, servertest.Options{})
	seed := sample.NewDevice("seed", time.Now, 1)
	bucket := seed.NewID()
	a := newWorker(t, env, "worker-a", 5, []string{bucket})
	b := newWorker(t, env, "worker-b", 6, []string{bucket})
	_, cursorA, _ := pullAll(t, a.client, nil, 0)
	foreign := newWorker(t, other, "worker-a", 5, []string{bucket})
	_, foreignCursor, _ := pullAll(t, foreign.client, nil, 0)

	for name, tc := range map[string]struct {
		w      *worker
		cursor []byte
	}{
		"other_users_cursor":   {b, cursorA},
		"other_servers_cursor": {a, foreignCursor},
		"garbage":              {a, []byte("not a cursor at all")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.w.client.Pull(context.Background(), pullReq(tc.cursor, 0))
			cerr := assertCode(t, "Pull", err, connect.CodeFailedPrecondition)
			if r := detail[v1.ResetRequired](t, cerr); r.GetReason() != v1.ResetReason_RESET_REASON_CURSOR_INVALID {
				t.Fatalf("reset reason = %v", r.GetReason())
			}
		})
	}
}

func TestRejectedChangeDoesNotBlockTheQueue(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	seed := sample.NewDevice("seed", time.Now, 1)
	mine, notMine := seed.NewID(), seed.NewID()
	w := newAdmin(t, env, "admin-a", 7, []string{mine})
	_, chsMine := w.dev.NewClient("Lambeth")
	for _, c := range chsMine {
		c.RecordId, c.ClientId = mine, mine
	}
	_, foreign := w.dev.NewContact(notMine, time.Now())
	_, after := w.dev.NewContact(mine, time.Now())
	all := append(append(chsMine, foreign...), after...)
	resp, err := w.client.Push(context.Background(), pushReq(all...))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.GetResults() {
		want := v1.Verdict_VERDICT_APPLIED
		if all[i].GetClientId() == notMine {
			want = v1.Verdict_VERDICT_REJECTED
			if r.GetReason() != v1.RejectReason_REJECT_REASON_NOT_FOUND || r.GetMessage() == "" {
				t.Fatalf("foreign change result = %v, want NOT_FOUND with a message", r)
			}
		}
		if r.GetVerdict() != want {
			t.Fatalf("result %d = %v, want %v", i, r.GetVerdict(), want)
		}
	}
	if hw, _ := env.Store.HighWater(context.Background(), w.dev.ID); hw != w.dev.Seq {
		t.Fatalf("high-water mark %d, want %d: rejected changes must be consumed", hw, w.dev.Seq)
	}
}
