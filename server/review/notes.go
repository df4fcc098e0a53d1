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

// reviewOnce takes a decision on a contact's note (see ReviewContact) on
// the note as it is now, and writes it: errNoteRaced if the note changed
// between reading it and writing.
func (s *Service) reviewOnce(ctx context.Context, id *identity.Identity, req *v1.ReviewContactRequest) (string, error) {
	decision, comment, err := checkReview(req)
	if err != nil {
		return "", err
	}
	c, n, err := s.reviewedContact(ctx, id, req.GetClientId(), req.GetContactId())
	if err != nil {
		return "", err
	}
	contactID := req.GetContactId()
	state := reviewNoteStates[decision]
	p, err := s.planNote(ctx, c.id, contactID, n, decision, state, comment)
	if err != nil {
		return "", err
	}
	log := s.log.With().Str("user_id", id.UserID).Str("client_id", c.id).Str("contact_id", contactID).
		Str("review_note_id", p.noteID).Str("decision", state).Logger()
	if len(p.fields) == 0 {
		log.Debug().Msg("review unchanged")
		return p.noteID, nil
	}
	check := func(now *v1.RecordState) error {
		if !sameNote(p.current, now) {
			return errNoteRaced
		}
		return nil
	}
	if _, err := s.write(ctx, id, store.AuditReviewNote, c.id, "review_note", p.noteID, p.current, p.fields, check); err != nil {
		return "", err
	}
	log.Info().Bool("new_note", p.current == nil).Msg("contact reviewed")
	return p.noteID, nil
}

// reviewNoteStates is the review note state each decision sets.
var reviewNoteStates = map[v1.ReviewDecision]string{
	v1.ReviewDecision_REVIEW_DECISION_REVIEWED: "reviewed",
	v1.ReviewDecision_REVIEW_DECISION_QUERY:    "query_to_worker",
	v1.ReviewDecision_REVIEW_DECISION_RESOLVED: "resolved",
}

// checkReview checks a review request's decision, and returns it with the
// trimmed comment, which a query needs.
func checkReview(req *v1.ReviewContactRequest) (v1.ReviewDecision, string, error) {
	decision := req.GetDecision()
	switch decision {
	case v1.ReviewDecision_REVIEW_DECISION_REVIEWED, v1.ReviewDecision_REVIEW_DECISION_QUERY, v1.ReviewDecision_REVIEW_DECISION_RESOLVED:
	default:
		return 0, "", invalid("decision must be REVIEWED, QUERY or RESOLVED")
	}
	comment := strings.TrimSpace(req.GetComment())
	if decision == v1.ReviewDecision_REVIEW_DECISION_QUERY && comment == "" {
		return 0, "", invalid("a query needs a comment for the worker")
	}
	return decision, comment, nil
}

// reviewedContact finds the contact a caller reviews: the client in their
// reach (access.ReviewContacts) and the contact in its bucket (errContactNF
// unless contactID names a contact record there). It returns the client
// and the contact's newest live note (nil: none).
func (s *Service) reviewedContact(ctx context.Context, id *identity.Identity, clientID, contactID string) (*client, *note, error) {
	sc, err := s.resolve(ctx, id, access.ReviewContacts, "")
	if err != nil {
		return nil, nil, err
	}
	c, err := sc.client(clientID)
	if err != nil {
		return nil, nil, err
	}
	cid, err := uuid.Parse(contactID)
	if err != nil || cid.String() != contactID {
		return nil, nil, errContactNF
	}
	recs, err := s.st.Records(ctx, c.id, []string{contactID})
	if err != nil {
		return nil, nil, storeErr(err)
	}
	if st := recs[contactID]; st == nil || st.GetRecordType() != "contact" {
		return nil, nil, errContactNF
	}
	b, err := newReader(s.st).read(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return c, b.noteOf(cid), nil
}

// notePlan is what a decision writes: the note, its current state (nil: a
// new note) and the fields to set (none: the decision changes nothing).
type notePlan struct {
	noteID  string
	current *v1.RecordState
	fields  []noteField
}

// planNote decides which note a decision on a contact whose note is n
// (nil: none) writes, and which fields it sets to the decision's state
// and the comment. RESOLVED needs a query; a first decision, or a QUERY
// once the note holds an answer or was resolved, starts a new note
// (newNotePlan); anything else updates the note (updateNotePlan).
func (s *Service) planNote(ctx context.Context, clientID, contactID string, n *note, decision v1.ReviewDecision, state, comment string) (notePlan, error) {
	fresh := n == nil || decision == v1.ReviewDecision_REVIEW_DECISION_QUERY && (n.answered || n.state == "resolved")
	switch {
	case decision == v1.ReviewDecision_REVIEW_DECISION_RESOLVED && (n == nil || n.state == "reviewed"):
		return notePlan{}, errkind.E(errkind.Precondition, "this contact has no query to resolve")
	case fresh:
		return s.newNotePlan(ctx, clientID, contactID, n, state, comment)
	default:
		return s.updateNotePlan(ctx, clientID, n, state, comment)
	}
}

// newNotePlan plans a new note about the contact (after prev, its newest
// note, if any): its subject, its text (the comment, or
// defaultReviewedText) and its state.
func (s *Service) newNotePlan(ctx context.Context, clientID, contactID string, prev *note, state, comment string) (notePlan, error) {
	noteID, err := s.freeNoteID(ctx, clientID, contactID, prev)
	if err != nil {
		return notePlan{}, err
	}
	text := comment
	if text == "" {
		text = defaultReviewedText
	}
	// A retry after the new note was written finds it (it is the
	// contact's newest note now) and writes nothing.
	return notePlan{noteID: noteID, fields: []noteField{{"subject_id", str(contactID)}, {"text", str(text)}, {"state", str(state)}}}, nil
}

// updateNotePlan plans an update of note n: the text if a comment differs
// from it, the state if it differs.
func (s *Service) updateNotePlan(ctx context.Context, clientID string, n *note, state, comment string) (notePlan, error) {
	p := notePlan{noteID: n.id.String()}
	m, err := s.st.Records(ctx, clientID, []string{p.noteID})
	if err != nil {
		return notePlan{}, storeErr(err)
	}
	p.current = m[p.noteID]
	if p.current == nil {
		return notePlan{}, fmt.Errorf("review: note %s listed but not found", p.noteID)
	}
	if comment != "" && merge.Field(p.current, "text").GetValue().GetStringValue() != comment {
		p.fields = append(p.fields, noteField{"text", str(comment)})
	}
	if merge.Field(p.current, "state").GetValue().GetStringValue() != state {
		p.fields = append(p.fields, noteField{"state", str(state)})
	}
	return p, nil
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
