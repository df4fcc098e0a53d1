package caseload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// restrictedValues holds a valid value for every field the built-in schema
// restricts to some roles.
var restrictedValues = map[string]*v1.Value{
	"client.area":                 String("Hackney"),
	"client.status":               String("closed"),
	"client.deleted":              Deleted("entered_in_error"),
	"review_note.subject_id":      String("0190a0b0-0000-7000-8000-000000000002"),
	"review_note.text":            String("Please add the hostel's name."),
	"review_note.state":           String("resolved"),
	"review_note.deleted":         Deleted("entered_in_error"),
	"review_note.worker_response": String("Added."),
	"consent.deleted":             Deleted("entered_in_error"),
	"risk_assessment.deleted":     Deleted("entered_in_error"),
	"court_order.deleted":         Deleted("entered_in_error"),
}

// A write of a field the user's role may not write is refused on the
// device, before anything is queued, with ErrForbiddenField (and
// ErrInvalid), exactly as the schema's field writers say; the roles that
// may write it write it.
func TestWriteRefusesForbiddenFieldsLocally(t *testing.T) {
	reg := schema.Builtin()
	roles := []v1.Role{v1.Role_ROLE_WORKER, v1.Role_ROLE_SUPERVISOR, v1.Role_ROLE_ADMIN}
	restricted := 0
	for _, rt := range reg.Types() {
		for _, f := range rt.Fields {
			if len(f.Writers) == 0 {
				continue
			}
			restricted++
			key := rt.Name + "." + f.Name
			val := restrictedValues[key]
			if val == nil {
				t.Fatalf("%s is restricted to %v but the test has no value for it", key, f.Writers)
			}
			for _, role := range roles {
				t.Run(key+"/"+roleName(role), func(t *testing.T) {
					d, c, recs := roleDevice(t, role)
					recordID := c
					if id, ok := recs[rt.Name]; ok {
						recordID = id
					}
					pending := d.Status().Pending
					err := d.Write(context.Background(), rt.Name, c, recordID, Edit{f.Name, val})
					if f.WritableBy(role) {
						if err != nil {
							t.Fatalf("a %s writing %s: %v, want it queued", roleName(role), key, err)
						}
						if d.Status().Pending != pending+1 {
							t.Fatalf("pending %d after an allowed write, want %d", d.Status().Pending, pending+1)
						}
						return
					}
					if !errors.Is(err, ErrForbiddenField) || !errors.Is(err, ErrInvalid) {
						t.Fatalf("a %s writing %s: %v, want ErrForbiddenField and ErrInvalid", roleName(role), key, err)
					}
					if want := "a " + roleName(role) + " may not write " + key; !strings.Contains(err.Error(), want) {
						t.Fatalf("error %q does not say %q", err, want)
					}
					if d.Status().Pending != pending || len(outbox(t, d)) != pending {
						t.Fatalf("a refused write queued something: pending %d, outbox %d, want %d", d.Status().Pending, len(outbox(t, d)), pending)
					}
				})
			}
		}
	}
	if restricted != len(restrictedValues) {
		t.Fatalf("the schema restricts %d fields, the test expects %d", restricted, len(restrictedValues))
	}
}

// One forbidden field refuses the whole write, the allowed fields with it;
// fields no role is restricted from are written by every role.
func TestForbiddenFieldRefusesTheWholeWrite(t *testing.T) {
	ctx := context.Background()
	for _, role := range []v1.Role{v1.Role_ROLE_WORKER, v1.Role_ROLE_SUPERVISOR, v1.Role_ROLE_ADMIN} {
		d, c, _ := roleDevice(t, role)
		must(t, d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}))
		if d.Status().Pending != 1 {
			t.Fatalf("%s: pending %d after an unrestricted write, want 1", roleName(role), d.Status().Pending)
		}
	}
	d, c, _ := roleDevice(t, v1.Role_ROLE_WORKER)
	err := d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}, Edit{"status", String("closed")})
	if !errors.Is(err, ErrForbiddenField) {
		t.Fatalf("a worker closing the case with another edit: %v, want ErrForbiddenField", err)
	}
	cl, err := d.Client(ctx, c)
	must(t, err)
	if d.Status().Pending != 0 || cl.HousingStatus != "hostel" || cl.Status != "active" {
		t.Fatalf("after a refused write: pending %d, client %+v; want nothing queued or shown", d.Status().Pending, cl)
	}
}

// roleDevice is an in-memory device signed in with role, holding a client
// with a review note, a consent and a risk assessment on it, all pulled
// from "the server"; it returns the client's id and the others' by record
// type.
func roleDevice(t *testing.T, role v1.Role) (*Device, string, map[string]string) {
	t.Helper()
	d := memDevice(t)
	must(t, d.saveSession(&v1.Session{UserId: newID(), DeviceId: newID(), Role: role}))
	c := newID()
	recs := map[string]string{"review_note": newID(), "consent": newID(), "risk_assessment": newID(), "court_order": newID()}
	s := stampAt(time.Now().Add(-time.Hour), otherReplica)
	day := DateValue(Date{2026, time.March, 1})
	pull(t, d, snapshot(c, clientRecord(c, s, otherAuthor),
		record(recs["review_note"], "review_note", s, otherAuthor,
			field("subject_id", String(newID())), field("text", String("Which hostel?")), field("state", String("query_to_worker"))),
		record(recs["consent"], "consent", s, otherAuthor,
			field("scope", String("gp")), field("given_on", day), field("author", String(otherAuthor.GetUserId()))),
		record(recs["risk_assessment"], "risk_assessment", s, otherAuthor,
			field("assessed_on", day), field("author", String(otherAuthor.GetUserId()))),
		record(recs["court_order"], "court_order", s, otherAuthor,
			field("kind", String("drr")), field("start_date", day), field("author", String(otherAuthor.GetUserId())))))
	return d, c, recs
}
