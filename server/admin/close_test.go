package admin

import (
	"context"
	"sync"
	"testing"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// racingStore runs between once, the first time CloseClient reads the
// client's record: after its reach check, before its write.
type racingStore struct {
	Store
	once    sync.Once
	between func()
}

func (r *racingStore) Records(ctx context.Context, bucket string, ids []string) (map[string]*v1.RecordState, error) {
	r.once.Do(r.between)
	return r.Store.Records(ctx, bucket, ids)
}

// A change of reach committed between CloseClient's check and its write
// (the client moved to a team the supervisor does not hold, the supervisor
// taken off the team, the client moved to another area) refuses the close
// as out of reach, and the case stays open; a move that keeps the client in
// reach closes it, audited under the team it is in now.
func TestCloseClientRechecksReachInTheWrite(t *testing.T) {
	for _, c := range []struct {
		name     string
		change   func(w *world, tx store.DirTx) error
		want     errkind.Kind
		wantTeam func(w *world) string
	}{
		{"client moved to another team", func(w *world, tx store.DirTx) error {
			cl, err := tx.Client(w.clientA1)
			if err != nil {
				return err
			}
			cl.TeamID = w.teamA2
			return tx.PutClient(cl)
		}, errkind.NotFound, nil},
		{"supervisor taken off the team", func(w *world, tx store.DirTx) error {
			u, err := tx.User(w.supA1.UserID)
			if err != nil {
				return err
			}
			u.TeamIDs = []string{w.teamA2}
			return tx.PutUser(u)
		}, errkind.NotFound, nil},
		{"supervisor given the client's new team too", func(w *world, tx store.DirTx) error {
			u, err := tx.User(w.supA1.UserID)
			if err != nil {
				return err
			}
			u.TeamIDs = append(u.TeamIDs, w.teamA2)
			if err := tx.PutUser(u); err != nil {
				return err
			}
			cl, err := tx.Client(w.clientA1)
			if err != nil {
				return err
			}
			cl.TeamID = w.teamA2
			return tx.PutClient(cl)
		}, 0, func(w *world) string { return w.teamA2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			rs := &racingStore{Store: w.st, between: func() {
				if err := w.st.Directory(w.ctx, func(tx store.DirTx) error { return c.change(w, tx) }); err != nil {
					t.Errorf("changing reach: %v", err)
				}
			}}
			svc, err := New(Config{Store: rs, Sessions: w.sessions, Now: w.clock.Now, Writer: w.eng, Devices: w.devices})
			if err != nil {
				t.Fatal(err)
			}
			err = svc.CloseClient(w.ctx, w.supA1, w.clientA1)
			wantKind(t, "close", err, c.want)
			recs, err := w.st.Records(w.ctx, w.clientA1, []string{w.clientA1})
			if err != nil {
				t.Fatal(err)
			}
			status, wantStatus := merge.Field(recs[w.clientA1], "status").GetValue().GetStringValue(), "active"
			var want []auditLine
			if c.want == 0 {
				wantStatus = "closed"
				want = []auditLine{{action: store.AuditCloseClient, user: w.supA1.UserID, role: "supervisor", client: w.clientA1, team: c.wantTeam(w)}}
			}
			if status != wantStatus {
				t.Errorf("status %q, want %q", status, wantStatus)
			}
			if got := w.auditBy(w.areaA, w.supA1.UserID); len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
				t.Errorf("the supervisor's entries:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
