package caseload

// Regression tests for bugs found by review and fuzzing: each failed before
// its fix.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// LogContact's category check formats Contact.Category into its error, so
// an arbitrary string put in Category (when a category-specific field is
// also set) is echoed into the error, and from there into logs.
func TestRegressionLogContactEchoesCategory(t *testing.T) {
	d, c := enrolledDevice(t)
	_, err := d.LogContact(context.Background(), c, Contact{OccurredAt: time.Now(), Category: planted, Mode: "phone", Attendance: "attended"})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if strings.Contains(err.Error(), planted) {
		t.Fatalf("error %q repeats the submitted category", err)
	}
}

// Write does not check that an existing record is of the type written: a
// goal field written onto a contact, or a contact field onto the client
// record, is accepted, stored in the outbox and merged into the other
// record in the view, until the server refuses it as type_mismatch.
func TestRegressionWriteIgnoresRecordTypeMismatch(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	contact := mustLog(t, d, c, contactAt(time.Now()))
	pending := d.Status().Pending
	if err := d.Write(ctx, "goal", c, contact, Edit{"status", String("achieved")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a goal field on a contact: %v, want ErrInvalid", err)
	}
	if err := d.Write(ctx, "contact", c, c, Edit{"notes", String("on the client record")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a contact field on the client record: %v, want ErrInvalid", err)
	}
	if got := d.Status().Pending; got != pending {
		t.Errorf("Pending went from %d to %d", pending, got)
	}
}

// After an eviction, a pending (unsent) edit of the client record itself
// makes the view rebuild a partial client from the outbox: Client and
// Timeline return a client with only the edited fields (no name), Clients
// does not list it, and LogContact accepts new work for a client no longer
// on the caseload (which the server will refuse as access_ended).
func TestRegressionEvictedClientRebuiltFromOutbox(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	must(t, d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}))
	pull(t, d, evict(c))
	if cl, err := d.Client(ctx, c); !errors.Is(err, ErrNotFound) {
		t.Errorf("Client after eviction: %+v, %v; want ErrNotFound", cl, err)
	}
	if tl, err := d.Timeline(ctx, c); !errors.Is(err, ErrNotFound) {
		t.Errorf("Timeline after eviction: %+v, %v; want ErrNotFound", tl.Client, err)
	}
	if _, err := d.LogContact(ctx, c, contactAt(time.Now())); !errors.Is(err, ErrNotFound) {
		t.Errorf("LogContact after eviction: %v, want ErrNotFound", err)
	}
}

// Two edits of the same ordinary field in one Write share one stamp; the
// merge (here and on the server) keeps the first and treats the second as
// a duplicate, so the later value is dropped without an error.
func TestRegressionWriteSameFieldTwice(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	err := d.UpdateClient(ctx, c, Edit{"housing_status", String("hostel")}, Edit{"housing_status", String("settled_tenancy")})
	if errors.Is(err, ErrInvalid) {
		return // refused: fine
	}
	must(t, err)
	cl, err := d.Client(ctx, c)
	must(t, err)
	if cl.HousingStatus != "settled_tenancy" {
		t.Fatalf("housing status %q: the second edit of the field was dropped without an error", cl.HousingStatus)
	}
}

// Reads after Close return Badger's "DB Closed" error rather than
// ErrClosed, which the SDK documents for a closed device.
func TestRegressionReadsAfterCloseNotErrClosed(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	must(t, d.Close())
	if _, err := d.Client(ctx, c); !errors.Is(err, ErrClosed) {
		t.Errorf("Client after Close: %v, want ErrClosed", err)
	}
	if _, err := d.Timeline(ctx, c); !errors.Is(err, ErrClosed) {
		t.Errorf("Timeline after Close: %v, want ErrClosed", err)
	}
	if _, err := d.Rejections(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Rejections after Close: %v, want ErrClosed", err)
	}
}

// A deletion reason that is not valid UTF-8 passes the schema's check
// (syncproto/schema checkValue's Tombstone case checks length and control
// characters, not UTF-8), so Write fails later, at proto.Marshal, with
// protobuf's error instead of ErrInvalid: an app cannot tell it from a
// storage failure.
func TestRegressionDeleteReasonNotUTF8(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	contact := mustLog(t, d, c, contactAt(time.Now()))
	if err := d.Delete(ctx, c, contact, "entered in error \xff"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Delete with a non-UTF-8 reason: %v, want ErrInvalid", err)
	}
}

// ReviewNotes puts the queries still awaiting the worker's answer first,
// but counted an answer of only white space as an answer, where the server
// (which gives the console its review states) counts it as none: such a
// query sank below the open ones.
func TestRegressionSpacesOnlyAnswerCountsAsAnswered(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	s := stampAt(time.Now().Add(-time.Minute), otherReplica)
	responses := []string{"Done", "   ", "", " seen \n", "\t\n", "\u00a0\u3000"}
	ids := make([]string, len(responses))
	for i := range ids {
		ids[i] = newID()
	}
	slices.Sort(ids) // the notes in this order, which Timeline keeps
	var recs []*v1.RecordState
	for i, resp := range responses {
		fs := []*v1.FieldState{field("subject_id", String(c)), field("text", String("Why?")), field("state", String("query_to_worker"))}
		if resp != "" {
			fs = append(fs, field("worker_response", String(resp)))
		}
		recs = append(recs, record(ids[i], "review_note", s, otherAuthor, fs...))
	}
	pull(t, d, delta(c, recs...))
	notes, err := d.ReviewNotes(ctx)
	must(t, err)
	var got []string
	for _, n := range notes {
		got = append(got, n.WorkerResponse)
	}
	want := []string{"   ", "", "\t\n", "\u00a0\u3000", "Done", " seen \n"}
	if !slices.Equal(got, want) {
		t.Fatalf("ReviewNotes answers in order %q, want the unanswered first %q", got, want)
	}
}
