package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/review"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// revEnv is a server with ReviewService and the exports over HTTP/2:
//
//	area A: teams A1, A2; tokens sup-a1 (A1), admin-a, worker-a1 (A1)
//	clients c1 (A1) "Alex Smith" with one contact whose texts look like
//	formulas; c2 (A2) with one contact
type revEnv struct {
	env      *servertest.Env
	url      string
	http     *http.Client
	st       servertest.Store
	areaA    string
	teamA1   string
	teamA2   string
	c1, c2   string
	contact1 string
	logs     *fixture.Logs
	tokens   *admTokens
}

func newRevEnv(t *testing.T, opts ...func(*api.Config)) *revEnv {
	t.Helper()
	logs := &fixture.Logs{}
	env := servertest.New(t, servertest.Options{Log: zerolog.New(logs), Configure: func(c *api.Config) {
		for _, o := range opts {
			o(c)
		}
	}})
	e := &revEnv{env: env, url: env.URL, http: env.HTTPClient, st: env.Store, logs: logs, tokens: &admTokens{env: env, m: map[string]identity.Identity{}}}
	tokens, st := e.tokens, e.st
	e.areaA, e.teamA1, e.teamA2 = uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.c1, e.c2 = uuid.NewString(), uuid.NewString()
	sup, adm, wkr := uuid.NewString(), uuid.NewString(), uuid.NewString()
	err := st.Directory(t.Context(), func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: e.areaA, Name: "Lambeth"}); err != nil {
			return err
		}
		for _, tm := range []*store.Team{{ID: e.teamA1, AreaID: e.areaA, Name: "North"}, {ID: e.teamA2, AreaID: e.areaA, Name: "East"}} {
			if err := tx.PutTeam(tm); err != nil {
				return err
			}
		}
		for _, u := range []*store.User{
			{ID: sup, AreaID: e.areaA, DisplayName: "Sue Supervisor", Role: "supervisor", TeamIDs: []string{e.teamA1}},
			{ID: adm, AreaID: e.areaA, DisplayName: "Ada Admin", Role: "admin"},
			{ID: wkr, AreaID: e.areaA, DisplayName: "Sam Worker", Role: "worker", TeamIDs: []string{e.teamA1}},
		} {
			u.Handle = []byte(u.ID)
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		for _, c := range []*store.Client{{ID: e.c1, AreaID: e.areaA, TeamID: e.teamA1, CreatedAt: time.Now()}, {ID: e.c2, AreaID: e.areaA, TeamID: e.teamA2, CreatedAt: time.Now()}} {
			if err := tx.PutClient(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens.set("sup-a1", identity.Identity{UserID: sup, DeviceID: uuid.NewString(), Role: identity.Supervisor, Area: e.areaA, Buckets: []string{e.c1}})
	tokens.set("admin-a", identity.Identity{UserID: adm, DeviceID: uuid.NewString(), Role: identity.Admin, Area: e.areaA, Buckets: []string{e.c1, e.c2}})
	tokens.set("worker-a1", identity.Identity{UserID: wkr, DeviceID: uuid.NewString(), Role: identity.Worker, Area: e.areaA, Buckets: []string{e.c1}})

	d := sample.NewDevice(wkr, time.Now, 1)
	var chs []*v1.Change
	for _, c := range []struct{ id, given, family string }{{e.c1, "Alex", "Smith"}, {e.c2, "Jo", "Jones"}} {
		chs = append(chs, d.Record("client", c.id, c.id, []sample.Field{
			{Name: "given_name", Value: sample.Str(c.given)}, {Name: "family_name", Value: sample.Str(c.family)},
			{Name: "area", Value: sample.Str("Lambeth")}, {Name: "pathway", Value: sample.Str("drr")}, {Name: "status", Value: sample.Str("active")},
		})...)
	}
	e.contact1 = d.NewID()
	chs = append(chs, d.Record("contact", e.contact1, e.c1, []sample.Field{
		{Name: "occurred_at", Value: sample.Time(time.Now().Add(-time.Hour))}, {Name: "category", Value: sample.Str("housing")},
		{Name: "mode", Value: sample.Str("phone")}, {Name: "author", Value: sample.Str(wkr)},
		{Name: "notes", Value: sample.Str(`=HYPERLINK("http://example.invalid","click")`)},
		{Name: "outcome", Value: sample.Str("+44 7700 900000 called")},
		{Name: "provider", Value: sample.Str("@risk")},
	})...)
	_, more := d.NewContact(e.c2, time.Now().Add(-time.Hour))
	chs = append(chs, more...)
	if _, err := syncengine.Apply(t.Context(), st, &syncengine.Batch{UserID: wkr, DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *revEnv) client(token string) throughcarev1connect.ReviewServiceClient {
	return throughcarev1connect.NewReviewServiceClient(e.http, e.url, bearerOpts(token)...)
}

func codeOf(err error) connect.Code {
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return cerr.Code()
	}
	return 0
}

func TestReviewServiceOverHTTP(t *testing.T) {
	e := newRevEnv(t)
	ctx := context.Background()
	sup := e.client("sup-a1")

	resp, err := sup.ListContacts(ctx, &v1.ListContactsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetContacts()) != 1 || resp.GetContacts()[0].GetRecord().GetRecordId() != e.contact1 ||
		resp.GetContacts()[0].GetClientName() != "Alex Smith" || resp.GetContacts()[0].GetAuthorName() != "Sam Worker" {
		t.Fatalf("ListContacts = %v", resp)
	}
	note, err := sup.ReviewContact(ctx, &v1.ReviewContactRequest{ClientId: e.c1, ContactId: e.contact1,
		Decision: v1.ReviewDecision_REVIEW_DECISION_QUERY, Comment: "Who did you call?"})
	if err != nil || note.GetReviewNoteId() == "" {
		t.Fatalf("ReviewContact = %v, %v", note, err)
	}
	tl, err := sup.GetTimeline(ctx, &v1.GetTimelineRequest{ClientId: e.c1})
	if err != nil || len(tl.GetRecords()) != 3 {
		t.Fatalf("GetTimeline = %d records, %v; want client, contact and note", len(tl.GetRecords()), err)
	}
	if _, err := sup.GetStatistics(ctx, &v1.GetStatisticsRequest{}); err != nil {
		t.Fatal(err)
	}
	if conflicts, err := sup.ListConflicts(ctx, &v1.ListConflictsRequest{}); err != nil || len(conflicts.GetConflicts()) != 0 {
		t.Fatalf("ListConflicts = %v, %v", conflicts, err)
	}

	long := strings.Repeat("x", 16_001)
	for name, tc := range map[string]struct {
		call func() error
		code connect.Code
	}{
		"no session": {func() error { _, err := e.client("").ListContacts(ctx, &v1.ListContactsRequest{}); return err }, connect.CodeUnauthenticated},
		"a worker": {func() error {
			_, err := e.client("worker-a1").GetTimeline(ctx, &v1.GetTimelineRequest{ClientId: e.c1})
			return err
		}, connect.CodePermissionDenied},
		"another team's client": {func() error { _, err := sup.GetTimeline(ctx, &v1.GetTimelineRequest{ClientId: e.c2}); return err }, connect.CodeNotFound},
		"another team": {func() error {
			_, err := sup.GetStatistics(ctx, &v1.GetStatisticsRequest{TeamId: e.teamA2})
			return err
		}, connect.CodeNotFound},
		"missing client_id": {func() error { _, err := sup.GetTimeline(ctx, &v1.GetTimelineRequest{}); return err }, connect.CodeInvalidArgument},
		"malformed client_id": {func() error {
			_, err := sup.ListContacts(ctx, &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: "c1"}})
			return err
		}, connect.CodeInvalidArgument},
		"long page token": {func() error {
			_, err := sup.ListContacts(ctx, &v1.ListContactsRequest{PageToken: long[:200]})
			return err
		}, connect.CodeInvalidArgument},
		"forged page token": {func() error {
			_, err := sup.ListContacts(ctx, &v1.ListContactsRequest{PageToken: "bm90IGEgdG9rZW4"})
			return err
		}, connect.CodeInvalidArgument},
		"long comment": {func() error {
			_, err := sup.ReviewContact(ctx, &v1.ReviewContactRequest{ClientId: e.c1, ContactId: e.contact1,
				Decision: v1.ReviewDecision_REVIEW_DECISION_QUERY, Comment: long})
			return err
		}, connect.CodeInvalidArgument},
		"comment over the schema's limit": {func() error {
			_, err := sup.ReviewContact(ctx, &v1.ReviewContactRequest{ClientId: e.c1, ContactId: e.contact1,
				Decision: v1.ReviewDecision_REVIEW_DECISION_QUERY, Comment: long[:4001]})
			return err
		}, connect.CodeInvalidArgument},
		"resolution missing": {func() error {
			_, err := sup.ResolveConflict(ctx, &v1.ResolveConflictRequest{ClientId: e.c1, RecordId: e.contact1, ConflictId: 1})
			return err
		}, connect.CodeInvalidArgument},
		"unknown conflict": {func() error {
			_, err := sup.ResolveConflict(ctx, &v1.ResolveConflictRequest{ClientId: e.c1, RecordId: e.contact1, ConflictId: 1,
				Resolution: &v1.ResolveConflictRequest_Choice{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT}})
			return err
		}, connect.CodeNotFound},
		"resolving with no query": {func() error {
			_, err := e.client("admin-a").ReviewContact(ctx, &v1.ReviewContactRequest{ClientId: e.c2,
				ContactId: firstContact(t, e, "admin-a", e.c2), Decision: v1.ReviewDecision_REVIEW_DECISION_RESOLVED})
			return err
		}, connect.CodeFailedPrecondition},
	} {
		if got := codeOf(tc.call()); got != tc.code {
			t.Errorf("%s: code %v, want %v", name, got, tc.code)
		}
	}
}

func firstContact(t *testing.T, e *revEnv, token, client string) string {
	t.Helper()
	resp, err := e.client(token).ListContacts(context.Background(), &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: client}})
	if err != nil || len(resp.GetContacts()) == 0 {
		t.Fatalf("no contact of %s: %v", client, err)
	}
	return resp.GetContacts()[0].GetRecord().GetRecordId()
}

// get fetches an export.
func (e *revEnv) get(t *testing.T, token, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestExports(t *testing.T) {
	e := newRevEnv(t)
	resp := e.get(t, "sup-a1", "/export/contacts.csv?from="+time.Now().Add(-24*time.Hour).UTC().Format(time.RFC3339))
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="throughcare-contacts-from-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if resp.Header.Get(api.RequestIDHeader) == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], review.ContactColumns) {
		t.Fatalf("CSV = %v, want the header and one contact (of c1 only)", rows)
	}
	col := func(name string) string { return rows[1][slices.Index(review.ContactColumns, name)] }
	for name, want := range map[string]string{
		"contact_id": e.contact1, "client_name": "Alex Smith", "author_name": "Sam Worker",
		"notes":    `'=HYPERLINK("http://example.invalid","click")`,
		"outcome":  "'+44 7700 900000 called",
		"provider": "'@risk",
	} {
		if got := col(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	resp = e.get(t, "admin-a", "/export/statistics.csv?team_id="+e.teamA2+"&no_contact_days=7")
	rows, err = csv.NewReader(resp.Body).ReadAll()
	if resp.StatusCode != http.StatusOK || err != nil || len(rows) < 2 || !slices.Equal(rows[0], review.StatisticsColumns) ||
		rows[1][0] != "totals" || rows[1][slices.Index(review.StatisticsColumns, "clients")] != "1" {
		t.Fatalf("statistics export: %d %v %v", resp.StatusCode, rows, err)
	}

	for name, tc := range map[string]struct {
		token, path string
		status      int
		code        string
	}{
		"no session":            {"", "/export/contacts.csv", 401, "unauthenticated"},
		"unknown token":         {"stolen", "/export/contacts.csv", 401, "unauthenticated"},
		"a worker":              {"worker-a1", "/export/contacts.csv", 403, "permission_denied"},
		"another team":          {"sup-a1", "/export/contacts.csv?team_id=" + e.teamA2, 404, "not_found"},
		"malformed team":        {"sup-a1", "/export/statistics.csv?team_id=A2", 400, "invalid_argument"},
		"bad time":              {"sup-a1", "/export/contacts.csv?from=yesterday", 400, "invalid_argument"},
		"period backwards":      {"sup-a1", "/export/contacts.csv?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 400, "invalid_argument"},
		"unknown parameter":     {"sup-a1", "/export/contacts.csv?team=x", 400, "invalid_argument"},
		"parameter twice":       {"sup-a1", "/export/contacts.csv?from=2026-03-01T00:00:00Z&from=2026-03-02T00:00:00Z", 400, "invalid_argument"},
		"contacts take no days": {"sup-a1", "/export/contacts.csv?no_contact_days=3", 400, "invalid_argument"},
		"days out of range":     {"sup-a1", "/export/statistics.csv?no_contact_days=0", 400, "invalid_argument"},
		"unknown export":        {"sup-a1", "/export/users.csv", 404, "not_found"},
	} {
		resp := e.get(t, tc.token, tc.path)
		var body struct{ Code, Message string }
		err := json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != tc.status || err != nil || body.Code != tc.code || body.Message == "" {
			t.Errorf("%s: %d %+v %v; want %d %s", name, resp.StatusCode, body, err, tc.status, tc.code)
		}
	}

	// Two exports left, each audited at its start and its end; the refused
	// ones left nothing.
	e.st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		as, err := tx.AuditOfArea(e.areaA, 0, 0)
		if err != nil || len(as) != 4 {
			t.Fatalf("%d audit entries (%v), want 4", len(as), err)
		}
		if as[0].Action != store.AuditExportContacts || as[1].Action != store.AuditExportComplete || as[1].Count != 1 {
			t.Errorf("audit = %+v, %+v", as[0], as[1])
		}
		return nil
	})
	logs := e.logs.String()
	for _, secret := range []string{"Alex", "Smith", "HYPERLINK", "Sam Worker", "stolen"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs carry %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"message":"export"`) {
		t.Errorf("no export log line:\n%s", logs)
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"plain":            "plain",
		"=1+2":             "'=1+2",
		"+44 20":           "'+44 20",
		"-3":               "'-3",
		"@SUM(A1)":         "'@SUM(A1)",
		"\t=cmd":           "'\t=cmd",
		"\r=cmd":           "'\r=cmd",
		"a=b":              "a=b",
		"2026-03-01":       "2026-03-01",
		"'already quoted'": "'already quoted'",
		"  =HYPERLINK()":   "'  =HYPERLINK()",
		"\n+1":             "'\n+1",
		"＝1+2":             "'＝1+2",
		"   ":              "   ",
	} {
		if got := api.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// failingWriter is a response whose connection breaks: headers go out,
// the body does not.
type failingWriter struct {
	h      http.Header
	status int
}

func (f *failingWriter) Header() http.Header         { return f.h }
func (f *failingWriter) WriteHeader(status int)      { f.status = status }
func (f *failingWriter) Write(p []byte) (int, error) { return 0, errors.New("connection reset") }

// An export that fails after its response started is cut off (the client
// sees a failed download, not a short file) and audited as incomplete.
func TestExportCutOff(t *testing.T) {
	e := newRevEnv(t)
	svc := e.env.Server.Review
	var sup identity.Identity
	e.st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		for _, uid := range tx.UsersOfArea(e.areaA) {
			if u, _ := tx.User(uid); u.Role == "supervisor" {
				sup = identity.Identity{UserID: u.ID, Role: identity.Supervisor, Area: e.areaA, Buckets: []string{e.c1}}
			}
		}
		return nil
	})
	ids := identity.SourceFunc(func(context.Context, http.Header) (*identity.Identity, error) { return &sup, nil })
	h := api.ExportHandler(ids, svc, zerolog.Nop())
	w := &failingWriter{h: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/export/contacts.csv", nil)
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(w, req)
	}()
	if w.status != http.StatusOK {
		t.Fatalf("status %d", w.status)
	}
	e.st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		as, err := tx.AuditOfArea(e.areaA, 0, 0)
		if err != nil || len(as) != 2 {
			t.Fatalf("%d audit entries (%v), want 2", len(as), err)
		}
		if as[1].Action != store.AuditExportIncomplete {
			t.Errorf("a cut-off export is audited %v, want export_incomplete", as[1].Action)
		}
		return nil
	})
}
