package caseload

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// fuzzMarker starts the text values the fuzzer writes, so an error that
// echoes one is recognisable whatever the fuzzer picked.
const fuzzMarker = "QXmarkerXQ"

// fuzzRequired are valid values for the required fields of each type, so
// a fuzzed edit can create a record.
var fuzzRequired = map[string]map[string]*v1.Value{
	"client": {"given_name": String("Sam"), "family_name": String("Jones"), "area": String("Lambeth"),
		"pathway": String("licence"), "status": String("active")},
	"contact": {"occurred_at": Time(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), "category": String("general"),
		"mode": String("phone"), "author": String("0190a0b0-0000-7000-8000-000000000001")},
	"goal":        {"domain": String("housing"), "description": String("Find a flat"), "status": String("open")},
	"referral":    {"service_type": String("job_centre"), "organisation": String("Jobcentre"), "status": String("made")},
	"review_note": {"subject_id": String("0190a0b0-0000-7000-8000-000000000002"), "text": String("Query"), "state": String("reviewed")},
}

var fuzzTypes = []string{"client", "contact", "goal", "referral", "review_note"}

// fuzzDevice is an in-memory device with a client and one record of each
// type; it is reused across fuzz inputs and replaced now and then so the
// outbox stays small.
type fuzzDevice struct {
	d        *Device
	client   string
	existing map[string]string // record type -> record id
	uses     int
}

func newFuzzDevice(tb testing.TB) *fuzzDevice {
	d, err := Open(Config{InMemory: true, Key: make([]byte, 16), Server: noServer})
	if err != nil {
		tb.Fatal(err)
	}
	// An admin may write every field but a review query's answer (which is
	// refused, ErrForbiddenField and ErrInvalid), so the fuzzer reaches the
	// most of the schema.
	if err := d.saveSession(&v1.Session{UserId: newID(), DeviceId: newID(), Role: v1.Role_ROLE_ADMIN}); err != nil {
		tb.Fatal(err)
	}
	fd := &fuzzDevice{d: d, client: newID(), existing: map[string]string{}}
	s := stampAt(time.Now().Add(-time.Hour), otherReplica)
	p, err := pageOf(&v1.PullResponse{Buckets: []*v1.BucketUpdate{snapshot(fd.client, clientRecord(fd.client, s, otherAuthor))}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.applyPage(p, &SyncReport{}); err != nil {
		tb.Fatal(err)
	}
	fd.existing["client"] = fd.client
	for _, typ := range fuzzTypes[1:] {
		id := newID()
		var edits []Edit
		for f, v := range fuzzRequired[typ] {
			edits = append(edits, Edit{f, v})
		}
		if err := d.Write(context.Background(), typ, fd.client, id, edits...); err != nil {
			tb.Fatal(err)
		}
		fd.existing[typ] = id
	}
	return fd
}

// fuzzValue makes a value of one of the kinds Edit takes from the fuzzer's
// inputs.
func fuzzValue(kind uint8, s string, n int64) *v1.Value {
	switch kind % 9 {
	case 0:
		return String(fuzzMarker + s)
	case 1:
		return String(s) // for choices: sometimes one of the schema's values
	case 2:
		return Int(n)
	case 3:
		return Bool(n%2 == 0)
	case 4:
		return AddTo(s)
	case 5:
		return Deleted(fuzzMarker + s)
	case 6:
		return Time(time.Unix(n%(1<<40), n%1e9))
	case 7:
		return DateValue(Date{int(n % 12000), time.Month(n % 14), int(n % 33)})
	default:
		return nil
	}
}

// Whatever an app passes to Write, either it is refused with ErrInvalid
// (changing nothing, and without echoing the value; ErrForbiddenField and
// ErrTooLarge match it too) or it is stored and
// reads back through the view; the device's counts stay consistent and
// nothing panics.
func FuzzWriteNeverCorrupts(f *testing.F) {
	f.Add(uint8(1), "keyworker_notes", "Seen at the hostel", uint8(0), int64(0), false)
	f.Add(uint8(0), "housing_status", "settled_tenancy", uint8(1), int64(0), false)
	f.Add(uint8(0), "risk_flags", "overdose", uint8(4), int64(0), false)
	f.Add(uint8(1), "substances", "opiates", uint8(4), int64(0), true)
	f.Add(uint8(1), "duration_minutes", "", uint8(2), int64(45), false)
	f.Add(uint8(1), "duration_minutes", "", uint8(2), int64(-1), true)
	f.Add(uint8(0), "consent_to_share", "", uint8(3), int64(1), true)
	f.Add(uint8(1), "deleted", "entered_in_error", uint8(5), int64(0), false)
	f.Add(uint8(1), "occurred_at", "", uint8(6), int64(1767225600), true)
	f.Add(uint8(2), "target_date", "", uint8(7), int64(2026*13*34+5*34+9), false)
	f.Add(uint8(4), "subject_id", "0190a0b0-0000-7000-8000-000000000003", uint8(1), int64(0), true)
	f.Add(uint8(5), "notes", "a", uint8(0), int64(0), true)
	f.Add(uint8(1), "notes", "line one\nline two\t\u00e9", uint8(0), int64(0), false)
	f.Add(uint8(1), "outcome", "\u2028", uint8(0), int64(0), false)
	f.Add(uint8(3), "", "", uint8(8), int64(0), false)

	var fd *fuzzDevice
	f.Cleanup(func() {
		if fd != nil {
			fd.d.Close()
		}
	})
	f.Fuzz(func(t *testing.T, typeSel uint8, fieldName, s string, kind uint8, n int64, fresh bool) {
		if fd == nil || fd.uses >= 200 {
			if fd != nil {
				fd.d.Close()
			}
			fd = newFuzzDevice(t)
		}
		fd.uses++
		ctx := context.Background()
		d := fd.d

		// The target: an existing record of a type, a new one, or a type
		// the schema does not know.
		recordType := s
		if i := int(typeSel) % (len(fuzzTypes) + 1); i < len(fuzzTypes) {
			recordType = fuzzTypes[i]
		}
		clientID, recordID := fd.client, fd.existing[recordType]
		if fresh || recordID == "" {
			recordID = newID()
			if recordType == "client" {
				clientID = recordID
			}
		}
		val := fuzzValue(kind, s, n)
		var edits []Edit
		if fresh {
			for _, f := range slices.Sorted(mapKeys(fuzzRequired[recordType])) {
				if f != fieldName {
					edits = append(edits, Edit{f, fuzzRequired[recordType][f]})
				}
			}
		}
		edits = append(edits, Edit{fieldName, val})

		pending, queued := d.Status().Pending, countKeys(t, d, pOutbox)
		err := d.Write(ctx, recordType, clientID, recordID, edits...)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Write(%q, field %q, %v): %v, want nil or ErrInvalid", recordType, fieldName, val, err)
			}
			if strings.Contains(err.Error(), fuzzMarker) && !strings.Contains(fieldName+recordType, fuzzMarker) {
				t.Fatalf("error %q echoes the submitted value", err)
			}
			if d.Status().Pending != pending || countKeys(t, d, pOutbox) != queued {
				t.Fatalf("a refused write changed the outbox: pending %d -> %d", pending, d.Status().Pending)
			}
			return
		}

		if got, want := d.Status().Pending, pending+len(edits); got != want {
			t.Fatalf("Pending %d after writing %d edits, want %d", got, len(edits), want)
		}
		if got := countKeys(t, d, pOutbox); got != d.Status().Pending {
			t.Fatalf("outbox holds %d changes, Status().Pending says %d", got, d.Status().Pending)
		}
		st, pendingRec, err := d.record(ctx, clientID, recordID)
		if err != nil {
			t.Fatalf("reading the written record back: %v", err)
		}
		if !pendingRec || st.GetRecordType() == "" {
			t.Fatalf("written record reads as %v (pending %v)", st, pendingRec)
		}
		got := fieldValue(st, fieldName)
		switch k := val.GetKind().(type) {
		case *v1.Value_SetAdd:
			if !slices.Contains(members(st, fieldName), k.SetAdd.GetElement()) {
				t.Fatalf("added %q to %s but it reads as %v", k.SetAdd.GetElement(), fieldName, got)
			}
		default:
			if !proto.Equal(got, val) {
				t.Fatalf("wrote %s = %v, reads back %v", fieldName, val, got)
			}
		}
		if _, err := d.Timeline(ctx, fd.client); err != nil {
			t.Fatalf("Timeline after the write: %v", err)
		}
	})
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
