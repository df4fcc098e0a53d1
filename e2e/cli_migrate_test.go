package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// oldProfile is the profile the CLI wrote before it used the SDK: it kept
// the session, its own device sequence number (the server's high-water mark
// after its last push), pull cursor and last stamp.
type oldProfile struct {
	Passkey   *software.Key   `json:"passkey,omitempty"`
	Session   json.RawMessage `json:"session,omitempty"`
	Seq       uint64          `json:"seq"`
	Cursor    []byte          `json:"cursor,omitempty"`
	LastStamp uint64          `json:"last_stamp"`
}

// A profile written by the CLI before it used the SDK is moved into a
// device store on first use, keeping its device, and the contacts logged
// after the upgrade reach the server, also when the profile's sequence
// number is behind the server's high-water mark for the device (the answer
// to its last push was lost): nothing is sent under a number the server
// already holds, where it would be taken for a duplicate and dropped.
func TestCLIMigratesAnOldProfile(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	team := a.team("Lewisham Outreach")
	review := throughcarev1connect.NewReviewServiceClient(h2cClient(), s.URL, connect.WithInterceptors(a.adminSession))
	for _, tc := range []struct {
		name string
		lost int // pushes the server applied whose answers the old CLI never saw
	}{
		{"seq up to date", 0},
		{"seq behind the server", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := a.client(team, "Jordan", "Reid")
			prof := filepath.Join(t.TempDir(), "old.json")
			sess := writeOldProfile(t, s, a, team, client, prof, tc.lost)
			before := reviewedContacts(t, review, client)
			if len(before) != 1+tc.lost {
				t.Fatalf("before the upgrade the server holds %d contacts, want %d", len(before), 1+tc.lost)
			}

			var outs []string
			for range 2 {
				out := s.cli(t, prof, "log-contact", "--client", client, "--category", "finance", "--mode", "phone")
				if !strings.Contains(out, "logged and synced") {
					t.Fatalf("log-contact after the upgrade: %s", out)
				}
				outs = append(outs, out)
			}
			got := reviewedContacts(t, review, client)
			for _, out := range outs {
				if id := field(t, out, "contact"); !slices.Contains(got, id) {
					t.Errorf("the server lacks contact %s logged after the upgrade (it holds %v)", id, got)
				}
			}
			if len(got) != len(before)+2 {
				t.Errorf("the server holds %d contacts, want %d", len(got), len(before)+2)
			}
			who := s.cli(t, prof, "whoami")
			if dev := field(t, who, "device"); dev != sess.GetDeviceId() {
				t.Errorf("after the upgrade the profile is device %s, want %s", dev, sess.GetDeviceId())
			}
			outs = append(outs, who)
			checkMigratedProfile(t, prof, outs)
		})
	}
}

// writeOldProfile enrols a worker the way the old CLI did, assigns the
// client, logs one contact and then lost more (applied, answers lost) with
// the old CLI's own push, pulls, and writes the profile it kept.
func writeOldProfile(t *testing.T, s *server, a *area, team, client, path string, lost int) *v1.Session {
	t.Helper()
	ctx := context.Background()
	key := softKey(s)
	sess, err := passkey.Enrol(ctx, throughcarev1connect.NewAuthServiceClient(h2cClient(), s.URL), key, a.invite(v1.Role_ROLE_WORKER, team), "Old CLI")
	must(t, err)
	if _, err := a.admin.AssignClient(ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: sess.GetUserId()}); err != nil {
		t.Fatal(err)
	}
	sync := throughcarev1connect.NewSyncServiceClient(h2cClient(), s.URL, connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken())))
	clock := hlc.NewClock(sess.GetDeviceId(), time.Now, 0)
	var seq, kept, last uint64
	for i := range 1 + lost {
		now := clock.Now()
		last = now.Time
		stamp := &v1.Stamp{Time: now.Time, Replica: now.Replica}
		id := uuid.Must(uuid.NewV7()).String()
		var chs []*v1.Change
		for _, f := range []struct {
			name string
			v    *v1.Value
		}{
			{"occurred_at", &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.Now()}}},
			{"category", str("housing")},
			{"mode", str("home_visit")},
			{"author", str(sess.GetUserId())},
			{"notes", str("Before the upgrade")},
		} {
			seq++
			chs = append(chs, &v1.Change{DeviceSeq: seq, RecordId: id, RecordType: "contact", ClientId: client, Field: f.name, Value: f.v, Stamp: stamp})
		}
		resp, err := sync.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
		must(t, err)
		if i == 0 {
			kept = resp.GetHighWater() // what the old CLI saved; later answers were lost
		}
	}
	resp, err := sync.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	must(t, err)
	sj, err := protojson.Marshal(sess)
	must(t, err)
	b, err := json.MarshalIndent(oldProfile{Passkey: key, Session: sj, Seq: kept, Cursor: resp.GetCursor(), LastStamp: last}, "", "  ")
	must(t, err)
	must(t, os.WriteFile(path, b, 0o600))
	return sess
}

func str(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }

// reviewedContacts lists the client's contacts as the review console sees them.
func reviewedContacts(t *testing.T, review throughcarev1connect.ReviewServiceClient, client string) []string {
	t.Helper()
	resp, err := review.ListContacts(context.Background(), &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: client}})
	must(t, err)
	var ids []string
	for _, c := range resp.GetContacts() {
		ids = append(ids, c.GetRecord().GetRecordId())
	}
	return ids
}

// checkMigratedProfile checks what the upgrade left: a profile with the
// passkey and a store key but no session or sync state, a store directory
// only its owner may enter, and a key no output showed.
func checkMigratedProfile(t *testing.T, path string, outs []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var p map[string]json.RawMessage
	must(t, json.Unmarshal(b, &p))
	for _, k := range []string{"session", "seq", "cursor", "last_stamp"} {
		if _, ok := p[k]; ok {
			t.Errorf("the upgraded profile still holds %q", k)
		}
	}
	var key []byte
	if err := json.Unmarshal(p["store_key"], &key); err != nil || len(key) != 32 || p["passkey"] == nil {
		t.Fatalf("the upgraded profile lacks its passkey or a 32-byte store key (%v):\n%s", err, b)
	}
	fi, err := os.Stat(strings.TrimSuffix(path, ".json") + ".device")
	must(t, err)
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the device store is %v, want a directory with mode 0700", fi.Mode())
	}
	for _, out := range outs {
		if strings.Contains(out, base64.StdEncoding.EncodeToString(key)) {
			t.Errorf("the store key was printed: %s", out)
		}
	}
}
