package review

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/throughcare/throughcare/syncproto/consent"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// Reading records without decoding them. A stored record state is a
// compacted throughcare.v1.RecordState; the review needs a handful of its
// fields, so it walks the encoding with syncproto/wire and keeps sub-slices of
// the buffer (valid only while the store's scan callback runs), interning
// the short strings it keeps (enumeration values, user ids) so that a scan
// allocates per distinct value, not per record.

// rec is a record state's encoding split into the parts the review reads.
type rec struct {
	id, typ, stamp, author []byte
	position               uint64
	conflicts              int
	fields                 []fieldRef
}

// fieldRef is one FieldState's name, Value and Stamp encodings.
type fieldRef struct{ name, value, stamp []byte }

func (r *rec) parse(b []byte) error {
	r.id, r.typ, r.stamp, r.author, r.position, r.conflicts, r.fields = nil, nil, nil, nil, 0, 0, r.fields[:0]
	return wire.Each(b, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.RecordState.RecordID:
			return wire.Bytes(typ, b, &r.id)
		case wire.RecordState.RecordType:
			return wire.Bytes(typ, b, &r.typ)
		case wire.RecordState.Stamp:
			return wire.Bytes(typ, b, &r.stamp)
		case wire.RecordState.Author:
			return wire.Bytes(typ, b, &r.author)
		case wire.RecordState.Conflicts:
			if typ == protowire.BytesType {
				r.conflicts++
			}
			return 0
		case wire.RecordState.Position:
			return wire.Varint(typ, b, &r.position)
		case wire.RecordState.Fields:
			var fb []byte
			n := wire.Bytes(typ, b, &fb)
			if n <= 0 {
				return n
			}
			var f fieldRef
			if err := wire.Each(fb, func(num wire.Number, typ wire.Type, b []byte) int {
				switch num {
				case wire.FieldState.Field:
					return wire.Bytes(typ, b, &f.name)
				case wire.FieldState.Value:
					return wire.Bytes(typ, b, &f.value)
				case wire.FieldState.Stamp:
					return wire.Bytes(typ, b, &f.stamp)
				}
				return 0
			}); err != nil {
				return -1
			}
			r.fields = append(r.fields, f)
			return n
		}
		return 0
	})
}

// get returns the named field, or nil.
func (r *rec) get(name string) *fieldRef {
	for i := range r.fields {
		if string(r.fields[i].name) == name {
			return &r.fields[i]
		}
	}
	return nil
}

// str returns a field's string value (nil if it has none).
func (r *rec) str(name string) []byte {
	f := r.get(name)
	if f == nil {
		return nil
	}
	var s []byte
	_ = wire.Each(f.value, func(num wire.Number, typ wire.Type, b []byte) int {
		if num == wire.Value.StringValue {
			return wire.Bytes(typ, b, &s)
		}
		return 0
	})
	return s
}

// instant is a point in time without time.Time's location (comparable,
// cheap to copy).
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

func (a instant) compare(b instant) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.nsec < b.nsec:
		return -1
	case a.nsec > b.nsec:
		return 1
	}
	return 0
}

func (a instant) time() time.Time { return time.Unix(a.sec, int64(a.nsec)).UTC() }

// when returns a field's timestamp value.
func (r *rec) when(name string) (instant, bool) {
	f := r.get(name)
	if f == nil {
		return instant{}, false
	}
	var ts []byte
	_ = wire.Each(f.value, func(num wire.Number, typ wire.Type, b []byte) int {
		if num == wire.Value.TimestampValue {
			return wire.Bytes(typ, b, &ts)
		}
		return 0
	})
	if ts == nil {
		return instant{}, false
	}
	sec, nsec, err := wire.ReadTimestamp(ts)
	return instant{sec, nsec}, err == nil
}

// stampTime returns the packed time of a field's stamp, or the record's
// default stamp if the field carries none.
func (r *rec) stampTime(f *fieldRef) uint64 {
	st := f.stamp
	if len(st) == 0 {
		st = r.stamp
	}
	var t uint64
	_ = wire.Each(st, func(num wire.Number, typ wire.Type, b []byte) int {
		if num == wire.Stamp.Time {
			return wire.Varint(typ, b, &t)
		}
		return 0
	})
	return t
}

// defaultAuthor returns the user id of the record's default author.
func (r *rec) defaultAuthor() []byte {
	var u []byte
	_ = wire.Each(r.author, func(num wire.Number, typ wire.Type, b []byte) int {
		if num == wire.Author.UserID {
			return wire.Bytes(typ, b, &u)
		}
		return 0
	})
	return u
}

// enumIntern holds every enumeration value of the schema, so that reading
// one allocates nothing.
var enumIntern = func() map[string]string {
	m := map[string]string{}
	for _, rt := range schema.Builtin().Types() {
		for _, f := range rt.Fields {
			for _, v := range f.Values {
				m[v] = v
			}
		}
	}
	return m
}()

// contact is what lists and statistics read of a contact.
type contact struct {
	id                                               uuid.UUID
	at                                               instant
	category, author, attendance, housing, ete, mode string
	position                                         uint64
	conflicts, deleted                               bool
	// followUp is the follow_up_date as days since the Unix epoch
	// (noDay: none).
	followUp int64
}

// note is what the queue reads of a review note.
type note struct {
	id       uuid.UUID
	created  uint64 // the stamp time of its subject_id: when it was written
	state    string
	answered bool
}

// reviewState is where a contact with this note (nil: none) stands.
func (n *note) reviewState() v1.ReviewState {
	if n == nil {
		return v1.ReviewState_REVIEW_STATE_UNREVIEWED
	}
	switch n.state {
	case "reviewed":
		return v1.ReviewState_REVIEW_STATE_REVIEWED
	case "query_to_worker":
		if n.answered {
			return v1.ReviewState_REVIEW_STATE_QUERY_ANSWERED
		}
		return v1.ReviewState_REVIEW_STATE_QUERY_OPEN
	case "resolved":
		return v1.ReviewState_REVIEW_STATE_RESOLVED
	}
	return v1.ReviewState_REVIEW_STATE_UNREVIEWED
}

// newer reports whether n was written after o (ties: the larger id).
func (n *note) newer(o *note) bool {
	if n.created != o.created {
		return n.created > o.created
	}
	return bytes.Compare(n.id[:], o.id[:]) > 0
}

// bucketData is what one scan of a client's bucket found. A reader reuses
// it for the next bucket.
type bucketData struct {
	contacts []contact
	// notes holds the newest live review note of each subject.
	notes map[uuid.UUID]note
	// appointments holds the bucket's appointments, deleted ones too.
	appointments []appointment
	// conflicted counts the bucket's records with open conflicts.
	conflicted int
	// consents holds the bucket's consent records, deleted ones too.
	consents []consent.Record
	// tops are the live TOPs (outcome_review), and treatment the client's
	// treatment_started and treatment_ended (see top.go).
	tops      []topBrief
	treatment [2]int64
}

// bucketScanner reads every record state of buckets (store.DB.ScanRecords).
type bucketScanner interface {
	ScanRecords(ctx context.Context, buckets []string, fn func(bucket string, state []byte) error) error
}

// reader scans buckets. It is not safe for concurrent use.
type reader struct {
	st      bucketScanner
	r       rec
	authors map[string]string
	b       bucketData
	// brief readers read of a contact only what a caseload summary needs
	// (when, deleted, follow-up date): the other fields are left empty.
	brief bool
}

func newReader(st bucketScanner) *reader {
	return &reader{st: st, authors: map[string]string{}, b: bucketData{notes: map[uuid.UUID]note{}}}
}

// intern returns an enumeration value or user id as a string, allocating
// only for a value not seen before.
func (rd *reader) intern(b []byte) string {
	if s, ok := enumIntern[string(b)]; ok {
		return s
	}
	if s, ok := rd.authors[string(b)]; ok {
		return s
	}
	s := string(b)
	rd.authors[s] = s
	return s
}

// read scans a client's bucket: its contacts and live review notes, and
// the client's name and status from the client record. The returned data
// is valid until the next read.
func (rd *reader) read(ctx context.Context, c *client) (*bucketData, error) {
	b := &rd.b
	b.contacts = b.contacts[:0]
	b.appointments = b.appointments[:0]
	b.consents = b.consents[:0]
	b.conflicted = 0
	b.tops, b.treatment = b.tops[:0], [2]int64{noDay, noDay}
	clear(b.notes)
	r := &rd.r
	err := rd.st.ScanRecords(ctx, []string{c.id}, func(_ string, state []byte) error {
		if err := r.parse(state); err != nil {
			return fmt.Errorf("review: a stored record does not decode: %w", err)
		}
		if r.conflicts > 0 {
			b.conflicted++
		}
		switch string(r.typ) {
		case "contact":
			if ct, ok := rd.contact(r); ok {
				b.contacts = append(b.contacts, ct)
			}
		case "consent":
			b.consents = append(b.consents, consentOf(r))
		case "outcome_review":
			b.addTOP(r)
		case "appointment":
			if a, ok := rd.appointment(r); ok {
				b.appointments = append(b.appointments, a)
			}
		case "review_note":
			rd.addNote(r)
		case "client":
			if string(r.id) == c.id {
				rd.clientRecord(c, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return b, nil
}

// contact reads a contact record (of a brief reader, only what a caseload
// summary needs); ok is false if its id is not a record id.
func (rd *reader) contact(r *rec) (contact, bool) {
	id, err := uuid.ParseBytes(r.id)
	if err != nil {
		return contact{}, false // not a record id the store would have taken
	}
	ct := contact{id: id, position: r.position, conflicts: r.conflicts > 0, deleted: r.get(schema.DeletedField) != nil}
	ct.at, _ = r.when("occurred_at")
	ct.followUp = r.day("follow_up_date")
	if rd.brief {
		return ct, true
	}
	ct.category = rd.intern(r.str("category"))
	ct.mode = rd.intern(r.str("mode"))
	author := r.str("author")
	if author == nil {
		author = r.defaultAuthor()
	}
	ct.author = rd.intern(author)
	ct.attendance = rd.intern(r.str("attendance"))
	ct.housing = rd.intern(r.str("housing_status_after"))
	ct.ete = rd.intern(r.str("ete_status_after"))
	return ct, true
}

// addNote keeps a live review note if it is the newest about its subject.
func (rd *reader) addNote(r *rec) {
	subj := r.get("subject_id")
	if subj == nil || r.get(schema.DeletedField) != nil {
		return
	}
	subject, err1 := uuid.ParseBytes(r.str("subject_id"))
	id, err2 := uuid.ParseBytes(r.id)
	if err1 != nil || err2 != nil {
		return
	}
	n := note{id: id, created: r.stampTime(subj), state: rd.intern(r.str("state")),
		answered: schema.QueryAnsweredBytes(r.str("worker_response"))}
	if old, ok := rd.b.notes[subject]; !ok || n.newer(&old) {
		rd.b.notes[subject] = n
	}
}

// clientRecord reads the client's name, status and treatment dates from
// its record.
func (rd *reader) clientRecord(c *client, r *rec) {
	c.given, c.family = string(bytes.TrimSpace(r.str("given_name"))), string(bytes.TrimSpace(r.str("family_name")))
	c.name = strings.TrimSpace(c.given + " " + c.family)
	c.born = r.day("date_of_birth")
	c.status = rd.intern(r.str("status"))
	c.closed = c.status == "closed"
	c.deleted = r.get(schema.DeletedField) != nil
	rd.b.treatment = [2]int64{r.day("treatment_started"), r.day("treatment_ended")}
}

// noteOf returns the newest live note about a record, or nil.
func (b *bucketData) noteOf(id uuid.UUID) *note {
	if n, ok := b.notes[id]; ok {
		return &n
	}
	return nil
}
