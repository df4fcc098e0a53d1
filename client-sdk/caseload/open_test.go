package caseload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func TestOpen(t *testing.T) {
	// A store made with one key, for the wrong-key case.
	made := t.TempDir()
	key := testKey(t)
	d, err := Open(Config{Dir: made, Key: key, Server: noServer})
	if err != nil {
		t.Fatal(err)
	}
	must(t, d.Close())

	tests := []struct {
		name    string
		cfg     Config
		wantIs  error  // errors.Is target, if any
		wantMsg string // substring of the error, if any
		ok      bool
	}{
		{name: "no dir", cfg: Config{Key: key}, wantMsg: "Config.Dir is required"},
		{name: "no key", cfg: Config{Dir: t.TempDir()}, wantMsg: "16, 24 or 32 bytes"},
		{name: "15-byte key", cfg: Config{Dir: t.TempDir(), Key: make([]byte, 15)}, wantMsg: "not 15"},
		{name: "33-byte key", cfg: Config{Dir: t.TempDir(), Key: make([]byte, 33)}, wantMsg: "not 33"},
		{name: "in memory, bad key", cfg: Config{InMemory: true, Key: make([]byte, 8)}, wantMsg: "not 8"},
		{name: "wrong key", cfg: Config{Dir: made, Key: testKey(t)}, wantIs: ErrWrongKey},
		{name: "16-byte key", cfg: Config{Dir: t.TempDir(), Key: make([]byte, 16)}, ok: true},
		{name: "24-byte key", cfg: Config{Dir: t.TempDir(), Key: make([]byte, 24)}, ok: true},
		{name: "same key again", cfg: Config{Dir: made, Key: key}, ok: true},
		{name: "in memory, no dir", cfg: Config{InMemory: true, Key: make([]byte, 32)}, ok: true},
		{name: "server request limit above 4 MiB", cfg: Config{InMemory: true, Key: key, ServerMaxRequestBytes: 8 << 20}, wantMsg: "ServerMaxRequestBytes must be between 1024 and 4194304"},
		{name: "server request limit below 1 KiB", cfg: Config{InMemory: true, Key: key, ServerMaxRequestBytes: 1000}, wantMsg: "ServerMaxRequestBytes must be between"},
		{name: "server request limit of 4 MiB", cfg: Config{InMemory: true, Key: key, ServerMaxRequestBytes: 4 << 20}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Server = noServer
			d, err := Open(tt.cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("Open: %v, want a device", err)
				}
				if got := d.DeviceID(); got != "" {
					t.Errorf("fresh device has device id %q", got)
				}
				must(t, d.Close())
				return
			}
			if err == nil {
				d.Close()
				t.Fatal("Open worked, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Open: %v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Open: %q, want it to say %q", err, tt.wantMsg)
			}
		})
	}
}

// Before enrolment the device has no replica id to stamp changes with:
// writing and syncing say so, and nothing reaches the outbox.
func TestNotEnrolled(t *testing.T) {
	ctx := context.Background()
	d := memDevice(t)
	c, r := newID(), newID()
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"write", func() error {
			return d.Write(ctx, "contact", c, r, Edit{"occurred_at", Time(time.Now())}, Edit{"category", String("general")},
				Edit{"mode", String("phone")}, Edit{"author", String("x")})
		}, ErrNotEnrolled},
		{"sync", func() error { _, err := d.Sync(ctx); return err }, ErrNotEnrolled},
		{"run", func() error { return d.Run(ctx, RunOptions{}) }, ErrNotEnrolled},
		// With no caseload there is no client to write to.
		{"log contact", func() error { _, err := d.LogContact(ctx, c, contactAt(time.Now())); return err }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if st := d.Status(); st.Pending != 0 {
		t.Fatalf("Pending = %d after refused writes", st.Pending)
	}
	if n := len(outbox(t, d)); n != 0 {
		t.Fatalf("outbox holds %d changes", n)
	}
	if d.UserID() != "" || d.DeviceID() != "" {
		t.Fatalf("unenrolled device reports user %q device %q", d.UserID(), d.DeviceID())
	}
}

// Enrolling a device that already has a session is refused before any
// network call: a second enrolment would give it a new device id and strand
// its outbox.
func TestEnrolTwiceRefused(t *testing.T) {
	d := memDevice(t)
	enrol(t, d)
	err := d.Enrol(context.Background(), nil, "tci_whatever", "Tablet")
	if err == nil || !strings.Contains(err.Error(), "already enrolled") {
		t.Fatalf("second Enrol: %v, want already enrolled", err)
	}
}

// A session with another device id (the server moved the device) is not
// taken: the outbox is stamped with the old id.
func TestSessionWithNewDeviceIDRefused(t *testing.T) {
	d, c := enrolledDevice(t)
	mustLog(t, d, c, contactAt(time.Now()))
	before := d.DeviceID()
	err := d.saveSession(&v1.Session{UserId: d.UserID(), DeviceId: newID(), Role: v1.Role_ROLE_WORKER})
	if err == nil {
		t.Fatal("a session for another device id was taken")
	}
	if d.DeviceID() != before {
		t.Fatalf("device id changed to %s", d.DeviceID())
	}
}

// After Close, writes and syncs report ErrClosed and Close again is a
// no-op.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	must(t, d.Close())
	must(t, d.Close())
	if _, err := d.LogContact(ctx, c, contactAt(time.Now())); err == nil {
		t.Error("LogContact after Close worked")
	}
	if err := d.Write(ctx, "client", c, c, Edit{"keyworker_notes", String("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if _, err := d.Sync(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v, want ErrClosed", err)
	}
}
