package e2e

// Browser test of the console's audit screen: an administrator reads the
// trail about a client (a worker's synced pushes) and by a user, and
// downloads it as CSV; the screen is not offered to supervisors.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func TestBrowserAuditTrail(t *testing.T) {
	s, a, team := browserArea(t)
	wren := a.enrolNamed(v1.Role_ROLE_WORKER, team, "Wren Worker")
	alex := a.client(team, "Alex", "Smith")
	a.assign(alex, wren)
	wren.mustSync(t)
	if _, err := wren.LogContact(a.ctx, alex, caseload.Contact{OccurredAt: time.Now().Add(-time.Hour), Category: "housing", Mode: "phone",
		Outcome: "Called about the flat"}); err != nil {
		t.Fatal(err)
	}
	wren.mustSync(t)

	b := newBrowser(t, s)
	b.enrol(a.namedInvite(v1.Role_ROLE_ADMIN, "", "Ada Admin"))
	b.waitFor("the audit link for an administrator", `!document.querySelector('#nav [data-view=audit]').hidden`, 20*time.Second)
	me := b.session()["userId"].(string)

	b.open("/?view=audit&client=" + alex)
	b.waitFor("the worker's push in the client's trail",
		`!document.querySelector('#audit[aria-busy]') && !!document.querySelector('#audit tbody tr[data-action=push]')`, 20*time.Second)
	b.waitText("#audit tbody tr[data-action=push]", "Wren Worker")
	b.shot("audit-client")

	b.click("#audit-csv")
	rows := parseCSV(t, b.download(".csv"))
	if len(rows) < 2 || strings.Join(rows[0], ",") != "seq,at,action,user_id,role,device_id,address,client_ids,record_id,team_id,count,from,to,prev_hash,hash" {
		t.Fatalf("audit CSV:\n%v", rows)
	}
	push := slices.IndexFunc(rows, func(r []string) bool { return r[2] == "push" })
	if push < 0 || rows[push][3] != wren.UserID() || rows[push][5] != wren.DeviceID() || !strings.Contains(rows[push][7], alex) ||
		rows[push][6] != "127.0.0.1" || len(rows[push][14]) != 64 {
		t.Errorf("audit CSV has no push by the worker's tablet about the client: %v", rows)
	}

	// By user: the administrator's own enrolment, and their reads of the
	// trail (each read is itself audited).
	b.open("/?view=audit&user=" + me)
	b.waitFor("the administrator's own entries",
		`!document.querySelector('#audit[aria-busy]') && !!document.querySelector('#audit tbody tr[data-action=enrol]') && !!document.querySelector('#audit tbody tr[data-action=read_audit]')`, 20*time.Second)
}
