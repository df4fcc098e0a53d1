package admin

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// failingWriter checks changes as the engine does but fails their write:
// with err if set, else by answering every change with verdict.
type failingWriter struct {
	Writer
	err     error
	verdict v1.Verdict
}

func (f *failingWriter) WriteAudited(_ context.Context, _ *store.Audit, changes []*v1.Change, _ func(*v1.Change, *v1.RecordState) syncengine.Decision) (*syncengine.PushResult, error) {
	if f.err != nil {
		return nil, f.err
	}
	res := &syncengine.PushResult{}
	for range changes {
		res.Results = append(res.Results, syncengine.Result{Verdict: f.verdict})
	}
	return res, nil
}

// TestCreateClientRecordNotWritten: when the second step (the client
// record) fails, CreateClient answers errkind.Unavailable, the directory
// keeps the client with an empty bucket, nobody is told of a caseload
// change, and a retry with the same key completes the client.
func TestCreateClientRecordNotWritten(t *testing.T) {
	for name, fw := range map[string]*failingWriter{
		"write error": {err: errors.New("disk on fire")},
		"not applied": {verdict: v1.Verdict_VERDICT_REJECTED},
		"duplicate":   {verdict: v1.Verdict_VERDICT_DUPLICATE},
		"no verdict":  {verdict: v1.Verdict_VERDICT_UNSPECIFIED},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			fw.Writer = w.eng
			broken, err := New(Config{Store: w.st, Sessions: w.sessions, Now: w.clock.Now, Logger: zerolog.New(w.logs), Writer: fw, Devices: w.devices})
			if err != nil {
				t.Fatal(err)
			}
			in := NewClient{TeamID: w.teamA1, GivenName: "Sam", FamilyName: "Hughes", Pathway: "drr", IdempotencyKey: "form-9"}
			cid, err := broken.CreateClient(w.ctx, w.supA1, in)
			if cid != "" {
				t.Errorf("CreateClient returned id %q with a failed write", cid)
			}
			wantKind(t, "failed record write", err, errkind.Unavailable)
			if _, changed := w.sessions.calls(); len(changed) != 0 {
				t.Errorf("CaseloadChanged called for a failed write: %v", changed)
			}
			clients, err := w.svc.ListClients(w.ctx, w.supA1, w.teamA1)
			if err != nil || len(clients) != 2 { // the fixture's and the empty one
				t.Fatalf("team A1 has %d clients (%v), want 2", len(clients), err)
			}

			got, err := w.svc.CreateClient(w.ctx, w.supA1, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, recs := pullRecords(t, w, got); len(recs) != 1 || fieldsOf(recs[0])["family_name"].GetStringValue() != "Hughes" {
				t.Errorf("the retry did not complete the record: %v", recs)
			}
			if _, changed := w.sessions.calls(); len(changed) != 1 {
				t.Errorf("CaseloadChanged calls after the retry = %v, want 1", changed)
			}
		})
	}
}
