package caseload

// Helpers for the SDK's local tests: an in-memory device, a simulated
// enrolment, and pulled pages built by hand in place of a server.

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// noServer is where test devices point: nothing listens there, and the
// local tests never call it.
const noServer = "http://127.0.0.1:1"

func testKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// memDevice opens an in-memory device, closed when the test ends; tune,
// if given, adjusts its Config.
func memDevice(t testing.TB, tune ...func(*Config)) *Device {
	t.Helper()
	cfg := Config{InMemory: true, Key: testKey(t), Server: noServer}
	for _, f := range tune {
		f(&cfg)
	}
	d, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open in memory: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// enrol simulates a completed enrolment: the device gets a user, a device
// id (its replica id) and a role, as the server's session would give it.
func enrol(t testing.TB, d *Device) (userID, deviceID string) {
	t.Helper()
	userID, deviceID = newID(), newID()
	if err := d.saveSession(&v1.Session{UserId: userID, DeviceId: deviceID, Role: v1.Role_ROLE_WORKER}); err != nil {
		t.Fatalf("saveSession: %v", err)
	}
	return userID, deviceID
}

// enrolledDevice is an in-memory enrolled device holding one client
// (pulled from "the server"), whose id it returns; tune, if given, adjusts
// its Config.
func enrolledDevice(t testing.TB, tune ...func(*Config)) (*Device, string) {
	t.Helper()
	d := memDevice(t, tune...)
	enrol(t, d)
	return d, holdClient(t, d)
}

// holdClient gives the device a new client, as pulled from "the server".
func holdClient(t testing.TB, d *Device) string {
	t.Helper()
	c := newID()
	pull(t, d, snapshot(c, clientRecord(c, stampAt(time.Now().Add(-time.Hour), otherReplica), otherAuthor)))
	return c
}

// Another replica (the server's view of someone else's tablet).
const otherReplica = "0190a0b0-0000-7000-8000-00000000beef"

var otherAuthor = &v1.Author{UserId: "0190a0b0-0000-7000-8000-00000000cafe", DeviceId: otherReplica}

// stampAt is a stamp at wall time t by replica.
func stampAt(t time.Time, replica string) *v1.Stamp {
	return &v1.Stamp{Time: hlc.Pack(t.UnixMilli(), 0), Replica: replica}
}

// field is a field of a compacted record (stamp and author from the
// record); withStamp gives it its own.
func field(name string, v *v1.Value) *v1.FieldState { return &v1.FieldState{Field: name, Value: v} }

func withStamp(f *v1.FieldState, s *v1.Stamp, a *v1.Author) *v1.FieldState {
	f.Stamp, f.Author = s, a
	return f
}

// record builds a compacted record state, as the server sends it: the
// record's stamp and author are the fields' defaults, and fields are sorted
// by name.
func record(id, typ string, s *v1.Stamp, a *v1.Author, fields ...*v1.FieldState) *v1.RecordState {
	fs := slices.Clone(fields)
	slices.SortFunc(fs, func(x, y *v1.FieldState) int { return strings.Compare(x.GetField(), y.GetField()) })
	return &v1.RecordState{RecordId: id, RecordType: typ, Stamp: s, Author: a, Fields: fs}
}

// clientRecord is a client with every required field, housing_status
// "hostel", and any extra fields (replacing defaults of the same name).
func clientRecord(id string, s *v1.Stamp, a *v1.Author, extra ...*v1.FieldState) *v1.RecordState {
	fs := []*v1.FieldState{
		field("given_name", String("Sam")), field("family_name", String("Jones")),
		field("area", String("Lambeth")), field("pathway", String("licence")),
		field("status", String("active")), field("housing_status", String("hostel")),
	}
	for _, e := range extra {
		fs = slices.DeleteFunc(fs, func(f *v1.FieldState) bool { return f.GetField() == e.GetField() })
		fs = append(fs, e)
	}
	return record(id, "client", s, a, fs...)
}

// contactRecord is a contact logged by someone else.
func contactRecord(id string, at time.Time, s *v1.Stamp, a *v1.Author) *v1.RecordState {
	return record(id, "contact", s, a,
		field("occurred_at", Time(at)), field("category", String("general")),
		field("mode", String("phone")), field("author", String(a.GetUserId())))
}

func snapshot(clientID string, recs ...*v1.RecordState) *v1.BucketUpdate {
	return &v1.BucketUpdate{ClientId: clientID, Action: v1.BucketAction_BUCKET_ACTION_SNAPSHOT, Records: recs}
}

func delta(clientID string, recs ...*v1.RecordState) *v1.BucketUpdate {
	return &v1.BucketUpdate{ClientId: clientID, Action: v1.BucketAction_BUCKET_ACTION_DELTA, Records: recs}
}

func evict(clientID string) *v1.BucketUpdate {
	return &v1.BucketUpdate{ClientId: clientID, Action: v1.BucketAction_BUCKET_ACTION_EVICT}
}

// pull applies a hand-built page as if the server had sent it.
func pull(t testing.TB, d *Device, buckets ...*v1.BucketUpdate) SyncReport {
	t.Helper()
	p, err := pageOf(&v1.PullResponse{Buckets: buckets, Cursor: []byte("cursor")})
	if err != nil {
		t.Fatalf("pageOf: %v", err)
	}
	var rep SyncReport
	if err := d.applyPage(p, &rep); err != nil {
		t.Fatalf("applyPage: %v", err)
	}
	return rep
}

// outbox returns the device's unsent changes, oldest first.
func outbox(t testing.TB, d *Device) []*v1.Change {
	t.Helper()
	var chs []*v1.Change
	err := d.db.View(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pOutbox}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ch := &v1.Change{}
			if err := it.Value(func(v []byte) error { return proto.Unmarshal(v, ch) }); err != nil {
				return err
			}
			chs = append(chs, ch)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the outbox: %v", err)
	}
	return chs
}

// countKeys counts the store's keys under a prefix.
func countKeys(t testing.TB, d *Device, prefix byte) int {
	t.Helper()
	var n int
	err := d.db.View(func(txn *local.Txn) error {
		var err error
		n, err = countPrefix(txn, []byte{prefix})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// contactAt is a valid contact at t.
func contactAt(t time.Time) Contact {
	return Contact{OccurredAt: t, Category: "housing", Mode: "home_visit", HousingStatusAfter: "temporary_accommodation"}
}

func mustLog(t testing.TB, d *Device, clientID string, c Contact) string {
	t.Helper()
	id, err := d.LogContact(context.Background(), clientID, c)
	if err != nil {
		t.Fatalf("LogContact: %v", err)
	}
	return id
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func protoEqual(a, b proto.Message) bool { return proto.Equal(a, b) }

// acceptAll is the server's answer accepting every change.
func acceptAll(chs []*v1.Change) []*v1.ChangeResult {
	out := make([]*v1.ChangeResult, len(chs))
	for i, ch := range chs {
		out[i] = &v1.ChangeResult{DeviceSeq: ch.GetDeviceSeq(), Verdict: v1.Verdict_VERDICT_APPLIED}
	}
	return out
}
