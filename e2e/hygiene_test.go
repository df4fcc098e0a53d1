package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// TestNoSecretsOrPersonalDataInLogs plants recognisable personal data,
// invite codes and tokens in every kind of request, good and bad, then
// checks that none of them reaches a log line.
func TestNoSecretsOrPersonalDataInLogs(t *testing.T) {
	s := startServer(t, "--log-level", "debug")
	dir := t.TempDir()
	admin, worker := filepath.Join(dir, "admin.json"), filepath.Join(dir, "worker.json")
	bootstrap := s.bootstrapInvite(t)
	canaries := []string{bootstrap, "Prudence Canarystaff", "Zebedee", "Canaryfield-4417", "heroin-canary-notes-9931", "canary-category-5521", "tci_canarybadinvite0000000"}

	s.cli(t, admin, "enrol", "--invite", bootstrap, "--device", "Canary laptop 3391")
	canaries = append(canaries, "Canary laptop 3391")
	team := field(t, s.cli(t, admin, "team", "create", "Canary Team 8812"), "team")
	code := field(t, s.cli(t, admin, "invite", "--role", "worker", "--team", team, "--name", "Prudence Canarystaff"), "invite")
	canaries = append(canaries, code)
	workerID := field(t, s.cli(t, worker, "enrol", "--invite", code, "--device", "Tablet canary"), "user")
	client := field(t, s.cli(t, admin, "client", "create", "--team", team, "--given", "Zebedee", "--family", "Canaryfield-4417", "--pathway", "dtto"), "client")
	s.cli(t, admin, "assign", "--client", client, "--worker", workerID)
	s.cli(t, worker, "log-contact", "--client", client, "--category", "treatment_attendance", "--mode", "office", "--notes", "heroin-canary-notes-9931")
	s.cli(t, worker, "pull")
	s.cli(t, admin, "pull")

	// Bad requests: an unknown invite, a value the schema refuses, a forged
	// token, a duplicate enrolment.
	if _, err := s.tryCLI(filepath.Join(dir, "x.json"), "enrol", "--invite", "tci_canarybadinvite0000000"); err == nil {
		t.Fatal("an unknown invite code was accepted")
	}
	if out, err := s.tryCLI(worker, "log-contact", "--client", client, "--category", "canary-category-5521", "--mode", "office"); err == nil {
		t.Fatalf("an invalid category was accepted: %s", out)
	} else if strings.Contains(out, "canary-category-5521") {
		t.Fatalf("the error repeats the submitted value: %s", out)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/throughcare.v1.SyncService/Pull", strings.NewReader(`{"protocolVersion":1,"schemaVersion":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tca_canaryforgedtoken12345")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	canaries = append(canaries, "tca_canaryforgedtoken12345")
	for _, p := range []string{admin, worker} {
		canaries = append(canaries, tokensIn(t, p)...)
	}
	// The CLI's SDK refuses the invalid category itself; a client that
	// sends one anyway reaches the server.
	workerToken := canaries[len(canaries)-2]
	push := throughcarev1connect.NewSyncServiceClient(h2cClient(), s.URL, connect.WithInterceptors(servertest.BearerToken(workerToken)))
	bad := &v1.Change{DeviceSeq: 1 << 40, RecordId: uuid.NewString(), RecordType: "contact", ClientId: client, Field: "category",
		Value: str("canary-category-5521"), Stamp: &v1.Stamp{Time: hlc.Pack(time.Now().UnixMilli(), 0), Replica: uuid.NewString()}}
	if _, err := push.Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: []*v1.Change{bad}}); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("a push of an invalid category: %v, want invalid argument", err)
	}

	lines := 0
	for _, line := range strings.Split(s.Out.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // not a log line (the bootstrap banner goes to a terminal only, and this is none)
		}
		lines++
		for _, c := range canaries {
			if strings.Contains(line, c) {
				t.Errorf("log line contains %q:\n%s", c, line)
			}
		}
	}
	if lines < 20 {
		t.Fatalf("only %d log lines: the test saw too little to mean anything", lines)
	}
}

// tokensIn returns the access and refresh tokens a CLI profile's device
// holds. They are in its encrypted store, which says them only to a
// server: the store is opened with the profile's key and pointed at a
// recorder that refuses the access token, so that the device presents its
// refresh token too.
func tokensIn(t *testing.T, profile string) []string {
	t.Helper()
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		StoreKey []byte `json:"store_key"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("profile %s: %v", profile, err)
	}
	rec := &tokenRecorder{}
	mux := http.NewServeMux()
	mux.Handle(throughcarev1connect.NewAuthServiceHandler(recordRefresh{tokenRecorder: rec}))
	mux.Handle(throughcarev1connect.NewAdminServiceHandler(refuseAdmin{}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			rec.mu.Lock()
			rec.access = tok
			rec.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dev, err := caseload.Open(caseload.Config{Dir: strings.TrimSuffix(profile, ".json") + ".device", Key: p.StoreKey, Server: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatalf("opening the device of %s: %v", profile, err)
	}
	defer dev.Close()
	admin := throughcarev1connect.NewAdminServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(dev.Interceptor()))
	if _, err := admin.GetArea(context.Background(), &v1.GetAreaRequest{}); !errors.Is(err, caseload.ErrSignInRequired) {
		t.Fatalf("a call the recorder refused: %v, want sign-in required", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.access == "" || rec.refresh == "" {
		t.Fatalf("the device of %s presented no tokens", profile)
	}
	return []string{rec.access, rec.refresh}
}

// tokenRecorder keeps the tokens presented to it.
type tokenRecorder struct {
	mu              sync.Mutex
	access, refresh string
}

// refuseAdmin refuses every call as unauthenticated.
type refuseAdmin struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
}

func (refuseAdmin) GetArea(context.Context, *v1.GetAreaRequest) (*v1.GetAreaResponse, error) {
	return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("refused"))
}

// recordRefresh refuses every refresh, recording its refresh token.
type recordRefresh struct {
	throughcarev1connect.UnimplementedAuthServiceHandler
	*tokenRecorder
}

func (r recordRefresh) Refresh(_ context.Context, req *v1.RefreshRequest) (*v1.RefreshResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh = req.GetRefreshToken()
	return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("refused"))
}
