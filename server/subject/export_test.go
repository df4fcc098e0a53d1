package subject_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/review"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// exportVia runs ExportSubject through the API as the caller (signed in
// under token) and returns the archive's files by name.
func (e *env) exportVia(token, client string) (map[string]string, error) {
	e.t.Helper()
	stream, err := e.AdminClient(token).ExportSubject(context.Background(), &v1.ExportSubjectRequest{ClientId: client})
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var buf bytes.Buffer
	for stream.Receive() {
		buf.Write(stream.Msg().GetChunk())
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if got := stream.ResponseHeader().Get("Cache-Control"); got != "no-store" {
		e.t.Errorf("Cache-Control %q, want no-store", got)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		e.t.Fatalf("the archive is not a zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		if strings.HasSuffix(f.Name, ".json") && !json.Valid(b) {
			e.t.Errorf("%s is not valid JSON", f.Name)
		}
		files[f.Name] = string(b)
	}
	return files, nil
}

// A client with contacts, an edited contact (history), a review note, a
// resolved conflict and a timeline view: every item is in the archive, in
// the file that holds its kind, and nothing of another client is.
func TestExportHoldsEverythingAboutTheClientOnly(t *testing.T) {
	e := newEnv(t, 0)
	c := e.client("Casey", "Subjectperson")
	other := e.client("Olly", "Otherclient")
	e.SignIn("admin-a", *e.adminA)
	e.SignIn("admin-b", *e.adminB)

	first := e.contact(c, "First visit note WORD-FIRST")
	second := e.contact(c, "Second visit note WORD-SECOND")
	otherContact := e.contact(other, "Other client note WORD-OTHER")
	// An edit seen by its author (history keeps the old value), then an
	// edit on a stale base (a conflict), resolved by the supervisor.
	recs, err := e.Store.Records(e.ctx, c, []string{first})
	if err != nil {
		t.Fatal(err)
	}
	var notesStamp *v1.Stamp
	for _, f := range recs[first].GetFields() {
		if f.GetField() == "notes" {
			notesStamp = f.GetStamp()
		}
	}
	e.push(e.worker, e.dev.Change("contact", first, c, "notes", sample.Str("Edited note WORD-EDITED"), notesStamp))
	e.push(e.worker, e.dev.Change("contact", first, c, "notes", sample.Str("Offline note WORD-CONFLICT"), notesStamp))
	recs, _ = e.Store.Records(e.ctx, c, []string{first})
	if len(recs[first].GetConflicts()) != 1 {
		t.Fatalf("test setup: conflicts %v, want one", recs[first].GetConflicts())
	}
	conflictID := recs[first].GetConflicts()[0].GetId()
	if _, err := e.Server.Review.ResolveConflict(e.ctx, e.sup, c, first, conflictID, review.Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT}); err != nil {
		t.Fatal(err)
	}
	note, err := e.Server.Review.ReviewContact(e.ctx, e.sup, &v1.ReviewContactRequest{ClientId: c, ContactId: second,
		Decision: v1.ReviewDecision_REVIEW_DECISION_QUERY, Comment: "Please add the housing officer WORD-REVIEW"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Server.Review.GetTimeline(e.ctx, e.sup, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Server.Review.GetTimeline(e.ctx, e.sup, other); err != nil {
		t.Fatal(err)
	}

	files, err := e.exportVia("admin-a", c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"summary.md":               {"Casey Subjectperson", "1980-04-02", c, "Lambeth", "North", "Alex Admin", "2 contact", "1 review_note", "records/contact.json", "history.json"},
		"client.json":              {c, "Casey", "Subjectperson", "licence", "active"},
		"records/contact.json":     {first, second, "WORD-CONFLICT", "WORD-SECOND"},
		"records/review_note.json": {note, "WORD-REVIEW", second},
		"history.json":             {"WORD-FIRST", "WORD-EDITED", "WORD-CONFLICT", "WORD-SECOND", "WORD-REVIEW", "replaced_value"},
		"conflicts.json":           {"resolutions", "resolved_conflicts", "WORD-CONFLICT"},
		"assignments.json":         {e.worker.UserID, e.wkName},
		"audit.json":               {"view_timeline", "subject_access", e.adminA.UserID},
	}
	for name, needles := range want {
		body, ok := files[name]
		if !ok {
			t.Errorf("the archive has no %s (files: %v)", name, keys(files))
			continue
		}
		for _, n := range needles {
			if !strings.Contains(body, n) {
				t.Errorf("%s lacks %q:\n%s", name, n, body)
			}
		}
	}
	for name, body := range files {
		for _, n := range []string{other, otherContact, "WORD-OTHER", "Olly", "Otherclient"} {
			if strings.Contains(body, n) {
				t.Errorf("%s holds %q, of another client", name, n)
			}
		}
	}
	// The conflict's resolution is the change listing it as resolved.
	var conflicts struct {
		Resolutions []struct {
			ResolvedConflicts []string `json:"resolved_conflicts"`
		} `json:"resolutions"`
	}
	if err := json.Unmarshal([]byte(files["conflicts.json"]), &conflicts); err != nil || len(conflicts.Resolutions) != 1 {
		t.Fatalf("conflicts.json resolutions %+v, %v; want the one resolution", conflicts, err)
	}

	// The export is audited, by the admin, about the client: its start
	// before any data left, its end complete with the items written.
	var got []*store.Audit
	if err := e.Store.DirectoryView(e.ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfClient(e.w.AreaA, c, 0, 0)
		for _, a := range as {
			if a.Action == store.AuditSubjectAccess || a.RecordID == "subject_access" {
				got = append(got, a)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action != store.AuditSubjectAccess || got[0].UserID != e.adminA.UserID ||
		got[1].Action != store.AuditExportComplete || got[1].Count < 10 {
		t.Fatalf("subject access audit %+v, want its start and its complete end by the admin about the client", got)
	}

	// Another area's admin, and a supervisor, get nothing.
	if _, err := e.exportVia("admin-b", c); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("another area's admin: %v, want NotFound", err)
	}
	e.SignIn("sup", *e.sup)
	if _, err := e.exportVia("sup", c); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a supervisor: %v, want PermissionDenied", err)
	}
}

// An archive larger than one message arrives whole, in order.
func TestExportStreamsLargeArchivesInChunks(t *testing.T) {
	e := newEnv(t, 0)
	c := e.client("Casey", "Bigfile")
	e.SignIn("admin-a", *e.adminA)
	var ids []string
	for range 80 {
		noise := make([]byte, 4_000)
		rand.Read(noise)
		ids = append(ids, e.contact(c, hex.EncodeToString(noise)))
	}
	stream, err := e.AdminClient("admin-a").ExportSubject(e.ctx, &v1.ExportSubjectRequest{ClientId: c})
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for stream.Receive() {
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 2 {
		t.Fatalf("%d chunks; test setup wants an archive of several", chunks)
	}
	files, err := e.exportVia("admin-a", c)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !strings.Contains(files["records/contact.json"], id) {
			t.Fatalf("contact %s missing from a chunked archive", id)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
