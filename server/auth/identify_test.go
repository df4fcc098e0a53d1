package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

func TestIdentifyCaseloads(t *testing.T) {
	e := newEnv(t)
	_, worker := e.newPerson(t, "worker", teamA, "Sam Worker")
	_, colleague := e.newPerson(t, "worker", teamA, "Alex Worker")
	_, supervisor := e.newPerson(t, "supervisor", teamA, "Jo Supervisor")
	_, admin := e.newPerson(t, "admin", "", "Pat Admin")

	t0 := e.clock.Now().Add(-90 * 24 * time.Hour)
	day := 24 * time.Hour
	e.dir(t, func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: "area-other", Name: "Other"}); err != nil {
			return err
		}
		if err := tx.PutTeam(&store.Team{ID: "team-other", AreaID: "area-other"}); err != nil {
			return err
		}
		// The supervisor also leads team B.
		u, err := tx.User(supervisor.GetUserId())
		if err != nil {
			return err
		}
		u.TeamIDs = append(u.TeamIDs, teamB)
		if err := tx.PutUser(u); err != nil {
			return err
		}
		for _, c := range []*store.Client{
			{ID: "c1", AreaID: areaID, TeamID: teamA}, {ID: "c2", AreaID: areaID, TeamID: teamA},
			{ID: "c3", AreaID: areaID, TeamID: teamA}, {ID: "c4", AreaID: areaID, TeamID: teamB},
			{ID: "c5", AreaID: areaID, TeamID: "team-c"}, {ID: "x1", AreaID: "area-other", TeamID: "team-other"},
			{ID: "c6", AreaID: areaID, TeamID: teamA},
		} {
			if err := tx.PutClient(c); err != nil {
				return err
			}
		}
		// c6 moved from team A to team C: team A's index may still list it.
		if err := tx.PutClient(&store.Client{ID: "c6", AreaID: areaID, TeamID: "team-c"}); err != nil {
			return err
		}
		for _, a := range []*store.Assignment{
			{ClientID: "c1", UserID: worker.GetUserId(), From: t0},                                     // held
			{ClientID: "c2", UserID: worker.GetUserId(), From: t0, To: t0.Add(10 * day)},               // lost,
			{ClientID: "c2", UserID: worker.GetUserId(), From: t0.Add(20 * day), To: t0.Add(30 * day)}, // twice
			{ClientID: "c3", UserID: worker.GetUserId(), From: t0, To: t0.Add(5 * day)},                // lost, then
			{ClientID: "c3", UserID: worker.GetUserId(), From: t0.Add(40 * day)},                       // held again
			{ClientID: "c4", UserID: colleague.GetUserId(), From: t0},                                  // not theirs
			{ClientID: "c2", UserID: colleague.GetUserId(), From: t0.Add(30 * day)},
		} {
			if err := tx.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})

	tests := []struct {
		name    string
		token   string
		role    identity.Role
		buckets []string
		former  map[string][]identity.Period
	}{
		{"worker", worker.GetAccessToken(), identity.Worker, []string{"c1", "c3"}, map[string][]identity.Period{
			"c2": {{From: t0, To: t0.Add(10 * day)}, {From: t0.Add(20 * day), To: t0.Add(30 * day)}},
		}},
		{"colleague", colleague.GetAccessToken(), identity.Worker, []string{"c2", "c4"}, nil},
		{"supervisor", supervisor.GetAccessToken(), identity.Supervisor, []string{"c1", "c2", "c3", "c4"}, nil},
		{"admin", admin.GetAccessToken(), identity.Admin, []string{"c1", "c2", "c3", "c4", "c5", "c6"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.mustIdentify(t, tc.token)
			if id.Role != tc.role || id.Area != areaID {
				t.Fatalf("role %v area %q", id.Role, id.Area)
			}
			if !slices.Equal(id.Buckets, tc.buckets) {
				t.Fatalf("buckets = %v, want %v", id.Buckets, tc.buckets)
			}
			if len(id.Former) != len(tc.former) || (len(tc.former) > 0 && !reflect.DeepEqual(normalize(id.Former), normalize(tc.former))) {
				t.Fatalf("former = %v, want %v", id.Former, tc.former)
			}
			if id.Ended == nil || id.Changed == nil {
				t.Fatal("identity lacks its Ended or Changed channel")
			}
		})
	}
}

func normalize(m map[string][]identity.Period) map[string][]identity.Period {
	out := map[string][]identity.Period{}
	for k, ps := range m {
		for _, p := range ps {
			out[k] = append(out[k], identity.Period{From: p.From.UTC(), To: p.To.UTC()})
		}
	}
	return out
}

// TestNoSecretsInLogs plants recognisable values and runs every path that
// logs, then scans the log for them.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const name = "Zebedee Canary-Name"
	code := e.invite(t, "worker", teamA, name, time.Hour)
	pk, sess := e.enroll(t, code)
	pk.cred.Counter = 9
	login := e.mustLogin(t, pk)
	pk.cred.Counter = 1
	e.login(t, pk) // refused: sign count
	e.svc.BeginEnrollment(ctx, code, "used invite")
	next, _ := e.svc.Refresh(ctx, login.GetRefreshToken())
	e.clock.Advance(3 * time.Minute)            // past the lost-response grace window
	e.svc.Refresh(ctx, login.GetRefreshToken()) // reuse: ends the session
	e.identify(next.GetAccessToken())
	_, s2 := e.newPerson(t, "worker", teamA, name)
	id := e.mustIdentify(t, s2.GetAccessToken())
	e.svc.ListDevices(ctx, id)
	e.svc.RevokeDevice(ctx, id, "unknown")
	e.svc.Logout(ctx, id)
	e.svc.EndUserSessions(ctx, s2.GetUserId())

	logs := e.logs.String()
	if !strings.Contains(logs, "login_refused") || !strings.Contains(logs, "enrolled") {
		t.Fatalf("expected auth events missing from the log:\n%s", logs)
	}
	secrets := map[string]string{
		"invite code": code, "name": name, "name (first part)": "Zebedee",
		"access token": sess.GetAccessToken(), "refresh token": sess.GetRefreshToken(),
		"login access token": login.GetAccessToken(), "login refresh token": login.GetRefreshToken(),
		"refreshed token": next.GetRefreshToken(), "device name": "Outreach tablet",
	}
	handle := pk.auth.Options.UserHandle
	for _, enc := range []func([]byte) string{base64.RawURLEncoding.EncodeToString, base64.StdEncoding.EncodeToString, hex.EncodeToString} {
		secrets["user handle"] = enc(handle)[:20]
		secrets["credential id"] = enc(pk.cred.ID)[:20]
		for what, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains the %s", what)
			}
		}
	}
}
