package review

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// noteIDSpace is the UUID namespace of review note ids: a contact's first
// note is named after the contact, a later one after the note before it,
// so that two supervisors reviewing at once write the same note (whose
// fields then merge) rather than two.
var noteIDSpace = uuid.MustParse("5b0e6f3c-2d8a-4c1e-9f47-8a3d2c6b1e90")

// Default note texts when a supervisor marks a contact reviewed without a
// comment (a note's text is required).
const defaultReviewedText = "Reviewed."

// ReviewContact records a supervisor's decision on a contact in the
// contact's review note, which syncs to the worker's devices, and returns
// the note's id. The note is written as server-authored changes (device
// ServerDevice, the caller as author).
//
//   - REVIEWED marks the contact reviewed (the comment, if any, becomes the
//     note's text; a new note without one says "Reviewed.").
//   - QUERY asks the worker a question; the comment is required. It
//     updates the contact's note unless that note already holds an answer
//     or was resolved: then it starts a new note, so each question keeps
//     its answer.
//   - RESOLVED closes a query (answered or not); a contact with no query
//     answers errkind.Precondition.
//
// The contact's note is its newest live review note. A request that would
// change nothing (a retry) writes nothing and returns the same note.
func (s *Service) ReviewContact(ctx context.Context, id *identity.Identity, req *v1.ReviewContactRequest) (string, error) {
	// Two supervisors reviewing one contact, or the worker answering while
	// a supervisor reviews, make the note change under us: then decide
	// again on what is there now, so nothing is overwritten blindly and no
	// conflict is raised on the note.
	// Reviews of one contact take turns in this process (a striped lock);
	// a worker's answer arriving by sync is caught by the check instead.
	mu := &s.noteLocks[stripe(req.GetContactId())]
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		noteID, err := s.reviewOnce(ctx, id, req)
		if !errors.Is(err, errNoteRaced) {
			return noteID, err
		}
		if attempt == 4 {
			return "", errkind.E(errkind.Unavailable, "the review note kept changing; try again")
		}
	}
}

func stripe(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() % noteStripes)
}

// errNoteRaced: the review note changed between reading and writing it.
var errNoteRaced = errors.New("review: the review note changed meanwhile")

// sameNote says whether a note in the push transaction is the one read
// (nil: no note), comparing the stamps of the fields a review decides on.
func sameNote(read, now *v1.RecordState) bool {
	if (read == nil) != (now == nil) {
		return false
	}
	for _, f := range []string{"text", "state", "worker_response", "deleted"} {
		if !merge.SameStamp(merge.Field(read, f).GetStamp(), merge.Field(now, f).GetStamp()) {
			return false
		}
	}
	return true
}

func (s *Service) reviewOnce(ctx context.Context, id *identity.Identity, req *v1.ReviewContactRequest) (string, error) {
	decision := req.GetDecision()
	switch decision {
	case v1.ReviewDecision_REVIEW_DECISION_REVIEWED, v1.ReviewDecision_REVIEW_DECISION_QUERY, v1.ReviewDecision_REVIEW_DECISION_RESOLVED:
	default:
		return "", invalid("decision must be REVIEWED, QUERY or RESOLVED")
	}
	comment := strings.TrimSpace(req.GetComment())
	if decision == v1.ReviewDecision_REVIEW_DECISION_QUERY && comment == "" {
		return "", invalid("a query needs a comment for the worker")
	}
	sc, err := s.resolve(ctx, id, access.ReviewContacts, "")
	if err != nil {
		return "", err
	}
	c, err := sc.client(req.GetClientId())
	if err != nil {
		return "", err
	}
	contactID := req.GetContactId()
	cid, err := uuid.Parse(contactID)
	if err != nil || cid.String() != contactID {
		return "", errContactNF
	}
	recs, err := s.st.Records(ctx, c.id, []string{contactID})
	if err != nil {
		return "", storeErr(err)
	}
	if st := recs[contactID]; st == nil || st.GetRecordType() != "contact" {
		return "", errContactNF
	}
	b, err := newReader(s.st).read(ctx, c)
	if err != nil {
		return "", err
	}

	// The note to write, its current state (nil: a new note) and the
	// fields to set.
	var (
		noteID  string
		current *v1.RecordState
		fields  []noteField
	)
	state := map[v1.ReviewDecision]string{
		v1.ReviewDecision_REVIEW_DECISION_REVIEWED: "reviewed",
		v1.ReviewDecision_REVIEW_DECISION_QUERY:    "query_to_worker",
		v1.ReviewDecision_REVIEW_DECISION_RESOLVED: "resolved",
	}[decision]
	n := b.noteOf(cid)
	fresh := n == nil || decision == v1.ReviewDecision_REVIEW_DECISION_QUERY && (n.answered || n.state == "resolved")
	switch {
	case decision == v1.ReviewDecision_REVIEW_DECISION_RESOLVED && (n == nil || n.state == "reviewed"):
		return "", errkind.E(errkind.Precondition, "this contact has no query to resolve")
	case fresh:
		if noteID, err = s.freeNoteID(ctx, c.id, contactID, n); err != nil {
			return "", err
		}
		text := comment
		if text == "" {
			text = defaultReviewedText
		}
		fields = []noteField{{"subject_id", str(contactID)}, {"text", str(text)}, {"state", str(state)}}
		// A retry after the new note was written finds it (it is the
		// contact's newest note now) and writes nothing.
	default:
		noteID = n.id.String()
		m, err := s.st.Records(ctx, c.id, []string{noteID})
		if err != nil {
			return "", storeErr(err)
		}
		current = m[noteID]
		if current == nil {
			return "", fmt.Errorf("review: note %s listed but not found", noteID)
		}
		if comment != "" && merge.Field(current, "text").GetValue().GetStringValue() != comment {
			fields = append(fields, noteField{"text", str(comment)})
		}
		if merge.Field(current, "state").GetValue().GetStringValue() != state {
			fields = append(fields, noteField{"state", str(state)})
		}
	}
	log := s.log.With().Str("user_id", id.UserID).Str("client_id", c.id).Str("contact_id", contactID).
		Str("review_note_id", noteID).Str("decision", state).Logger()
	if len(fields) == 0 {
		log.Debug().Msg("review unchanged")
		return noteID, nil
	}
	check := func(now *v1.RecordState) error {
		if !sameNote(current, now) {
			return errNoteRaced
		}
		return nil
	}
	if _, err := s.write(ctx, id, store.AuditReviewNote, c.id, "review_note", noteID, current, fields, check); err != nil {
		return "", err
	}
	log.Info().Bool("new_note", current == nil).Msg("contact reviewed")
	return noteID, nil
}

// freeNoteID names a new note about a contact whose newest note is prev
// (nil: none): derived from the contact or from prev, skipping ids already
// taken (by a note deleted since, say).
func (s *Service) freeNoteID(ctx context.Context, clientID, contactID string, prev *note) (string, error) {
	from := contactID
	if prev != nil {
		from = prev.id.String()
	}
	for range 16 {
		id := uuid.NewSHA1(noteIDSpace, []byte(from)).String()
		m, err := s.st.Records(ctx, clientID, []string{id})
		if err != nil {
			return "", storeErr(err)
		}
		if m[id] == nil {
			return id, nil
		}
		from = id
	}
	return uuid.Must(uuid.NewV7()).String(), nil
}

type noteField struct {
	name  string
	value *v1.Value
}

func str(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }

// write writes fields of a record as one server-authored action on the
// caller's behalf, through the engine's WriteAs: every change shares one
// stamp, later than anything the record holds, and takes as its base the field's current stamp (none for
// a new field), so it raises no conflict and resolves the field's open
// ones. The caller's role must be allowed to write each field
// (access.MayWrite, by the built-in schema's field writers). check, if
// set, runs inside the push transaction with the record's current state
// and may refuse the write by returning an error (then nothing is
// written). The write leaves an audit entry (action, the client and the
// record) in its transaction. It returns the position of the last change.
func (s *Service) write(ctx context.Context, id *identity.Identity, action store.AuditAction, clientID, recordType, recordID string,
	current *v1.RecordState, fields []noteField, check func(*v1.RecordState) error) (uint64, error) {
	for _, f := range fields {
		if !access.MayWrite(schema.Builtin(), id.Role, recordType, f.name) {
			return 0, access.Forbidden(id.Role, "write "+recordType+"."+f.name)
		}
	}
	changes := make([]*v1.Change, 0, len(fields))
	for _, f := range fields {
		ch := &v1.Change{RecordId: recordID, RecordType: recordType, ClientId: clientID, Field: f.name, Value: f.value}
		if cur := merge.Field(current, f.name); cur != nil {
			ch.Base = cur.GetStamp()
		}
		changes = append(changes, ch)
	}
	var refused error
	var decide func(*v1.Change, *v1.RecordState) syncengine.Decision
	if check != nil {
		decide = func(ch *v1.Change, st *v1.RecordState) syncengine.Decision {
			// Called for each change of every attempt of the transaction:
			// decide on the first and let the rest follow.
			if ch == changes[0] {
				refused = check(st)
			}
			if refused != nil {
				return syncengine.Decision{Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: refused.Error()}
			}
			return syncengine.Decision{}
		}
	}
	entry := audit.Entry(ctx, id, action, s.now())
	entry.ClientIDs, entry.RecordID = []string{clientID}, recordID
	res, err := s.w.WriteAudited(ctx, entry, changes, decide)
	var iss *schema.Issue
	if errors.As(err, &iss) {
		return 0, invalid("%s", iss.Message)
	}
	if err != nil {
		return 0, storeErr(err)
	}
	var pos uint64
	for _, r := range res.Results {
		if r.Verdict == v1.Verdict_VERDICT_REJECTED && refused != nil {
			return 0, refused
		}
		if r.Verdict != v1.Verdict_VERDICT_APPLIED {
			return 0, fmt.Errorf("review: a %s change was not applied: %v %v", recordType, r.Verdict, r.Reason)
		}
		pos = max(pos, r.Position)
	}
	return pos, nil
}
