package syncengine

import (
	"fmt"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// fieldWriters lists the fields only some roles may write; every other
// field of a record the caller can reach is writable (contacts have their
// own rule besides: see authorizer.contact).
var fieldWriters = map[string]map[string][]identity.Role{
	"client": {
		"area":             {identity.Admin},
		"status":           {identity.Supervisor, identity.Admin},
		merge.DeletedField: {identity.Supervisor, identity.Admin},
	},
	"review_note": {
		"subject_id":       {identity.Supervisor, identity.Admin},
		"text":             {identity.Supervisor, identity.Admin},
		"state":            {identity.Supervisor, identity.Admin},
		merge.DeletedField: {identity.Supervisor, identity.Admin},
		"worker_response":  {identity.Worker},
	},
}

// MayWrite reports whether a user of role may write a field of a record
// type they can reach. Pushes and the server's writes on a user's behalf
// (review notes, conflict resolutions) follow the same rule.
func MayWrite(role identity.Role, recordType, field string) bool {
	roles, ok := fieldWriters[recordType][field]
	return !ok || slices.Contains(roles, role)
}

// authorizer decides the changes of one push. It is the one place where a
// change is allowed or refused for who sent it; the required fields of new
// records are checked after it (requiredFields).
type authorizer struct {
	id *identity.Identity
	// now is when the push arrived (the server's clock).
	now time.Time
	// window is how long after access ended late work is accepted.
	window time.Duration
	// evicted holds, for each client the caller no longer holds that this
	// device has been sent the eviction of, the end of access it followed.
	evicted map[string]time.Time
}

var notFound = Decision{Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: "client not found"}

func forbidden(format string, args ...any) Decision {
	return Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: fmt.Sprintf(format, args...)}
}

// authorize decides one change against the caller and the record as it
// stood before the push (nil for a record the push creates):
//
//   - the client must be on the caller's caseload, or the change must be
//     late work the caller may still deliver (see late);
//   - the caller's role must be allowed to write the field;
//   - a contact's author is the caller when it is created and never
//     changes; its other fields are changed by its author, or corrected by
//     a supervisor or admin (see contact).
func (a *authorizer) authorize(ch *v1.Change, current *v1.RecordState) Decision {
	var d Decision
	if !a.id.HasBucket(ch.GetClientId()) {
		if d = a.late(ch, current); d.Reason != v1.RejectReason_REJECT_REASON_UNSPECIFIED {
			return d
		}
	}
	if current != nil && current.GetRecordType() != ch.GetRecordType() {
		return d // the store refuses it: TYPE_MISMATCH
	}
	if !MayWrite(a.id.Role, ch.GetRecordType(), ch.GetField()) {
		return forbidden("a %s may not write %s.%s", a.id.Role, ch.GetRecordType(), ch.GetField())
	}
	if ch.GetRecordType() == "contact" {
		if r := a.contact(ch, current); r.Reason != v1.RejectReason_REJECT_REASON_UNSPECIFIED {
			return r
		}
	}
	return d
}

// contact applies the authorship rule of contacts.
func (a *authorizer) contact(ch *v1.Change, current *v1.RecordState) Decision {
	if ch.GetField() == "author" {
		switch {
		case current != nil:
			return forbidden("a contact's author is fixed when it is logged and cannot be changed")
		case ch.GetValue().GetStringValue() != a.id.UserID:
			return forbidden("a contact's author must be the person logging it")
		}
		return Decision{}
	}
	if current == nil || a.id.Role == identity.Supervisor || a.id.Role == identity.Admin || contactAuthor(current) == a.id.UserID {
		return Decision{}
	}
	return forbidden("only the person who logged this contact, or a supervisor correcting it, may change it")
}

// contactAuthor is the user who logged a contact ("" if it has no author).
func contactAuthor(st *v1.RecordState) string {
	return merge.Field(st, "author").GetValue().GetStringValue()
}
