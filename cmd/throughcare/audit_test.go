package main

import (
	"context"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeAudit serves three entries in pages of two and records the requests.
type fakeAudit struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
	mu   sync.Mutex
	reqs []*v1.ListAuditRequest
}

func (f *fakeAudit) ListAudit(_ context.Context, req *v1.ListAuditRequest) (*v1.ListAuditResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	at := timestamppb.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	all := []*v1.AuditEntry{
		{Seq: 4, At: at, Action: "view_timeline", UserId: "sup-1", Role: "supervisor", DeviceId: "d-1", Address: "192.0.2.1", ClientIds: []string{"c-1"}, Count: 12, Hash: "aa"},
		{Seq: 9, At: at, Action: "pull", UserId: "sup-1", Role: "supervisor", ClientIds: []string{"c-1", "c-2"}, Count: 40, PrevHash: "aa", Hash: "bb"},
		{Seq: 11, At: at, Action: "export_contacts", UserId: "adm-1", Role: "admin", TeamId: "t-1", From: at, To: at},
	}
	var page []*v1.AuditEntry
	for _, e := range all {
		if e.GetSeq() > req.GetAfter() && len(page) < 2 {
			page = append(page, e)
		}
	}
	resp := &v1.ListAuditResponse{Entries: page}
	if len(page) == 2 && page[1].GetSeq() != 11 {
		resp.NextAfter = page[1].GetSeq()
	}
	return resp, nil
}

func TestAuditCommand(t *testing.T) {
	f := &fakeAudit{}
	out, err := runCLI(t, f, "audit", "--client", "c-1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "4 2026-03-02T09:00:00Z view_timeline") ||
		!strings.Contains(lines[0], "user sup-1 (supervisor) device d-1 from 192.0.2.1 clients c-1 record - count 12") {
		t.Errorf("audit output:\n%s", out)
	}
	if len(f.reqs) != 2 || f.reqs[0].GetClientId() != "c-1" || f.reqs[1].GetAfter() != 9 {
		t.Errorf("requests %v, want two pages by client", f.reqs)
	}

	out, err = runCLI(t, &fakeAudit{}, "audit", "--user", "sup-1", "--csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(auditColumns, ",") {
		t.Fatalf("CSV:\n%s", out)
	}
	want := []string{"9", "2026-03-02T09:00:00Z", "pull", "sup-1", "supervisor", "", "", "c-1 c-2", "", "", "40", "", "", "aa", "bb"}
	if strings.Join(rows[2], "|") != strings.Join(want, "|") {
		t.Errorf("row 2 = %q, want %q", rows[2], want)
	}
	if rows[3][11] != "2026-03-02T09:00:00Z" || rows[3][9] != "t-1" {
		t.Errorf("export row = %q, want its period and team", rows[3])
	}

	for _, args := range [][]string{{"audit"}, {"audit", "--client", "c", "--user", "u"}} {
		if _, err := runCLI(t, &fakeAudit{}, args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want the usage", args, err)
		}
	}
}
