package caseload

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A store's first session starts its numbering: an enrolment (a new
// device) from 1; a sign-in on a new store (a device the server may hold
// changes of, up to a mark the store cannot know) aheadGap past 0, kept
// across a restart. A store signed in before keeps its numbering and its
// outbox when it signs in again.
func TestFirstSessionNumbering(t *testing.T) {
	s := func() *v1.Session {
		return &v1.Session{UserId: newID(), DeviceId: newID(), Role: v1.Role_ROLE_WORKER, AccessToken: "a", RefreshToken: "r"}
	}
	for _, tc := range []struct {
		name string
		// signIn signs the store in; it returns the changes it left in the
		// outbox.
		signIn func(t *testing.T, d *Device) int
		want   func(held int) uint64 // the first change numbered after signIn
	}{
		{"enrolment", func(t *testing.T, d *Device) int { must(t, d.saveSession(s())); return 0 }, func(int) uint64 { return 1 }},
		{"sign-in on a new store", func(t *testing.T, d *Device) int { must(t, d.takeSession(s(), true)); return 0 }, func(int) uint64 { return aheadGap + 1 }},
		{"sign-in again with changes unsent", func(t *testing.T, d *Device) int {
			first := s()
			must(t, d.saveSession(first))
			mustLog(t, d, holdClient(t, d), contactAt(time.Now()))
			n := len(outbox(t, d))
			again := s()
			again.UserId, again.DeviceId = first.GetUserId(), first.GetDeviceId()
			must(t, d.takeSession(again, true))
			return n
		}, func(held int) uint64 { return uint64(held) + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, key := t.TempDir(), testKey(t)
			d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
			must(t, err)
			held := tc.signIn(t, d)
			must(t, d.Close())
			d, err = Open(Config{Dir: dir, Key: key, Server: noServer})
			must(t, err)
			defer d.Close()
			mustLog(t, d, holdClient(t, d), contactAt(time.Now()))
			chs := outbox(t, d)
			want := tc.want(held)
			if len(chs) <= held {
				t.Fatalf("outbox holds %d changes, want the %d held and more", len(chs), held)
			}
			if got := chs[held].GetDeviceSeq(); got != want {
				t.Errorf("first change after signing in numbered %d, want %d", got, want)
			}
		})
	}
}

// The reset that answers the first push of a store numbering ahead tells
// the server's mark: the changes are renumbered after it, and what was
// pulled (the cursor) stays. Any later reset, and one for a push that did
// not start at the store's first change, is the server losing changes.
func TestRenumberLearnsTheMarkOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		next       uint64 // where the refused push started
		wantLearnt bool
	}{
		{"first push", aheadGap + 1, true},
		{"another push", aheadGap + 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := memDevice(t)
			must(t, d.takeSession(&v1.Session{UserId: newID(), DeviceId: newID(), Role: v1.Role_ROLE_WORKER}, true))
			c := holdClient(t, d) // pulled: sets the cursor
			mustLog(t, d, c, contactAt(time.Now()))
			n := len(outbox(t, d))
			const mark = 7
			learnt, err := d.renumber(mark, tc.next)
			must(t, err)
			if learnt != tc.wantLearnt {
				t.Errorf("learnt = %v, want %v", learnt, tc.wantLearnt)
			}
			chs := outbox(t, d)
			if len(chs) != n || chs[0].GetDeviceSeq() != mark+1 || chs[n-1].GetDeviceSeq() != mark+uint64(n) {
				t.Fatalf("outbox after renumbering: %d changes from %d, want %d from %d", len(chs), chs[0].GetDeviceSeq(), n, mark+1)
			}
			if got := hasKey(t, d, metaCursor); got != tc.wantLearnt {
				t.Errorf("cursor kept = %v, want %v", got, tc.wantLearnt)
			}
			if hasKey(t, d, metaAhead) {
				t.Error("the store still takes itself for numbering ahead after a reset")
			}
			// A second reset is the server losing changes.
			learnt, err = d.renumber(mark, mark+1)
			must(t, err)
			if learnt {
				t.Error("a second reset was taken for the server telling its mark")
			}
		})
	}
}

func hasKey(t *testing.T, d *Device, k []byte) bool {
	t.Helper()
	var ok bool
	must(t, d.db.View(func(txn *local.Txn) error {
		var err error
		_, ok, err = get(txn, k)
		return err
	}))
	return ok
}
