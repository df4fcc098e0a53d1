package access

import (
	"fmt"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Decision is the verdict on one change. The zero Decision applies it. The
// sync engine's merge loop applies changes as their decisions say
// (syncengine.Decision is this type).
type Decision struct {
	// Reason, if set, rejects the change, with Message for its user.
	Reason  v1.RejectReason
	Message string
	// Late applies the change flagged for review: it was made while the
	// author had access, which has since ended.
	Late bool
}

// Refused reports whether a decision rejects its change.
func (d Decision) Refused() bool { return d.Reason != v1.RejectReason_REJECT_REASON_UNSPECIFIED }

// MayWrite reports whether a user of role may write a field of a record
// type they reach, as the schema's field writers say
// (schema.Field.Writers). Pushes and the server's writes on a user's behalf
// (review notes, conflict resolutions) follow the same rule.
func MayWrite(reg *schema.Registry, role identity.Role, recordType, field string) bool {
	return reg.MayWrite(role.Proto(), recordType, field)
}

// Push decides the changes of one push for who sent it. It is the one place
// where a change is allowed or refused for who sent it; the sync engine
// asks it about every change, inside the push's transaction.
type Push struct {
	// ID is the caller (required).
	ID *identity.Identity
	// Schema declares the field writers (default: the built-in schema).
	Schema *schema.Registry
	// Now is when the push arrived (the server's clock).
	Now time.Time
	// Window is how long after access ended late work is accepted
	// (zero: DefaultLateWorkWindow).
	Window time.Duration
	// Evicted holds, for each client of LateClients, the end of access
	// whose eviction this device has been sent, if it has.
	Evicted map[string]time.Time
}

// LateClients returns the clients changes touch that the caller no longer
// holds but once did: whether late work for them is accepted depends on
// the evictions the device has been sent (Push.Evicted).
func LateClients(id *identity.Identity, chs []*v1.Change) []string {
	var out []string
	for _, ch := range chs {
		if c := ch.GetClientId(); !id.HasBucket(c) && len(id.Former[c]) > 0 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

var notFound = Decision{Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: "client not found"}

func forbidden(format string, args ...any) Decision {
	return Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: fmt.Sprintf(format, args...)}
}

// Decide decides one change against the caller and the record as it stood
// before the push (nil for a record the push creates):
//
//   - the client must be on the caller's caseload, or the change must be
//     late work the caller may still deliver (see late);
//   - the caller's role must be allowed to write the field (MayWrite);
//   - a record's author (contacts, appointments, TOPs: the schema's
//     Authorship) is the caller when it is created and never changes; a
//     contact's or TOP's other fields are changed by its author, or
//     corrected by a supervisor or admin (see authored).
func (p *Push) Decide(ch *v1.Change, current *v1.RecordState) Decision {
	var d Decision
	if !p.ID.HasBucket(ch.GetClientId()) {
		if d = p.late(ch, current); d.Refused() {
			return d
		}
	}
	if current != nil && current.GetRecordType() != ch.GetRecordType() {
		return d // the merge loop refuses it: TYPE_MISMATCH
	}
	reg := p.Schema
	if reg == nil {
		reg = schema.Builtin()
	}
	if !MayWrite(reg, p.ID.Role, ch.GetRecordType(), ch.GetField()) {
		return forbidden("a %s may not write %s.%s", p.ID.Role, ch.GetRecordType(), ch.GetField())
	}
	if rt, ok := reg.Type(ch.GetRecordType()); ok && rt.Authorship != schema.NoAuthor {
		if r := p.authored(rt, ch, current); r.Refused() {
			return r
		}
	}
	return d
}

// authored applies the authorship rule of record types with an author
// (schema.Authorship).
func (p *Push) authored(rt *schema.RecordType, ch *v1.Change, current *v1.RecordState) Decision {
	if ch.GetField() == "author" {
		switch {
		case current != nil:
			return forbidden("a %s's author is fixed when it is made and cannot be changed", rt.Name)
		case ch.GetValue().GetStringValue() != p.ID.UserID:
			return forbidden("a %s's author must be the person making it", rt.Name)
		}
		return Decision{}
	}
	if rt.Authorship != schema.AuthorOwns || current == nil || p.ID.Role == identity.Supervisor || p.ID.Role == identity.Admin || recordAuthor(current) == p.ID.UserID {
		return Decision{}
	}
	return forbidden("only the person who made this %s, or a supervisor correcting it, may change it", rt.Name)
}

// AuthorFixed reports whether a field is the fixed author of its record
// type, which no one may set to a value of their own choosing (a conflict
// on it is settled by choosing one of its sides).
func AuthorFixed(reg *schema.Registry, recordType, field string) bool {
	rt, ok := reg.Type(recordType)
	return ok && rt.Authorship != schema.NoAuthor && field == "author"
}

// recordAuthor is the user who made a record with an author ("" if it has
// none).
func recordAuthor(st *v1.RecordState) string {
	return merge.Field(st, "author").GetValue().GetStringValue()
}
