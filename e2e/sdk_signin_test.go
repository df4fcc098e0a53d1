package e2e

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A worker whose app was reinstalled (a new, empty store) signs in with the
// passkey they enrolled with. A device-bound passkey signs in as the same
// device, whose changes the server already holds up to some mark; a synced
// one as a new device of the same user. Either way the changes made on the
// new store reach the server: none is taken for a duplicate of one the old
// store sent (and lost), and the first sync reports no reset and drops
// nothing already pulled. The store is restarted between the sign-in and
// the first change, as an app is.
func TestSDKSignInOnReinstalledApp(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Hackney Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	for _, tc := range []struct {
		name       string
		synced     bool
		sameDevice bool
	}{
		{"device-bound passkey", false, true},
		{"synced passkey", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := softKey(s)
			key.Synced = tc.synced
			old := a.openDevice(key)
			must(t, old.Enrol(ctx, key, a.invite(v1.Role_ROLE_WORKER, team), "Outreach tablet"))
			c := a.client(team, "Jo", "Evans")
			a.assign(c, old)
			old.mustSync(t)
			want := map[string]bool{}
			logContact := func(d *device, outcome string) {
				t.Helper()
				id, err := d.LogContact(ctx, c, caseload.Contact{Category: "housing", Mode: "home_visit", Outcome: outcome, OccurredAt: time.Now().Add(-time.Hour)})
				must(t, err)
				want[id] = true
			}
			logContact(old, "On the old installation")
			logContact(old, "On the old installation, second")
			old.mustSync(t)
			must(t, old.Close())

			d := a.openDevice(key)
			must(t, d.SignIn(ctx, key))
			if got := d.DeviceID() == old.DeviceID(); got != tc.sameDevice {
				t.Fatalf("signed in as device %s, the old one was %s: same = %v, want %v", d.DeviceID(), old.DeviceID(), got, tc.sameDevice)
			}
			d.mustSync(t)
			must(t, d.Close())
			d.reopen(t, a.url)
			logContact(d, "After the reinstall")
			logContact(d, "After the reinstall, second")
			rep := d.mustSync(t)
			if rep.Accepted == 0 || rep.Rejected != 0 || rep.Reset || d.Status().Pending != 0 {
				t.Errorf("first sync of the new installation: %+v, status %+v; want the changes accepted, no reset, nothing pending", rep, d.Status())
			}
			if got := contactIDs(t, d, c); !maps.Equal(got, want) {
				t.Errorf("the new installation shows contacts %v, want %v", got, want)
			}
			sup.mustSync(t)
			if got := contactIDs(t, sup, c); !maps.Equal(got, want) {
				t.Fatalf("the server holds contacts %v, want %v", got, want)
			}
			logContact(d, "Later")
			if rep := d.mustSync(t); rep.Accepted == 0 || rep.Reset {
				t.Errorf("next sync: %+v, want the contact accepted and no reset", rep)
			}
			sup.mustSync(t)
			if got := contactIDs(t, sup, c); !maps.Equal(got, want) {
				t.Fatalf("the server holds contacts %v, want %v", got, want)
			}
		})
	}
}
