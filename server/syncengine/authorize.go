package syncengine

import (
	"fmt"
	"slices"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// fieldWriters lists the fields only some roles may write; every other
// field of a record the caller can reach is writable.
var fieldWriters = map[string]map[string][]identity.Role{
	"client": {
		"area":   {identity.Admin},
		"status": {identity.Supervisor, identity.Admin},
	},
	"review_note": {
		"subject_id":      {identity.Supervisor, identity.Admin},
		"text":            {identity.Supervisor, identity.Admin},
		"state":           {identity.Supervisor, identity.Admin},
		"deleted":         {identity.Supervisor, identity.Admin},
		"worker_response": {identity.Worker},
	},
}

// MayWrite reports whether a user of role may write a field of a record
// type they can reach. Pushes and the server's writes on a user's behalf
// (review notes, conflict resolutions) follow the same rule.
func MayWrite(role identity.Role, recordType, field string) bool {
	roles, ok := fieldWriters[recordType][field]
	return !ok || slices.Contains(roles, role)
}

var notFound = store.Decision{Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: "client not found"}

// authorize decides one change of a push against the caller: the client must
// be on their caseload (work stamped while they held a client they have
// since lost is accepted and flagged; work stamped after is refused), their
// role must be allowed to write the field, and a contact's author is the
// caller.
func authorize(id *identity.Identity, ch *v1.Change) store.Decision {
	var d store.Decision
	if !id.HasBucket(ch.GetClientId()) {
		periods := id.Former[ch.GetClientId()]
		if len(periods) == 0 {
			return notFound
		}
		at := hlc.Wall(ch.GetStamp().GetTime())
		if !slices.ContainsFunc(periods, func(p identity.Period) bool { return p.Covers(at) }) {
			last := periods[len(periods)-1].To
			return store.Decision{Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED,
				Message: fmt.Sprintf("made after your access to this client ended (%s); it was not saved", last.UTC().Format("2 Jan 2006 15:04 MST"))}
		}
		d.Late = true
	}
	if !MayWrite(id.Role, ch.GetRecordType(), ch.GetField()) {
		return store.Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD,
			Message: fmt.Sprintf("a %s may not write %s.%s", id.Role, ch.GetRecordType(), ch.GetField())}
	}
	if ch.GetRecordType() == "contact" && ch.GetField() == "author" && ch.GetValue().GetStringValue() != id.UserID {
		return store.Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD,
			Message: "a contact's author must be the person logging it"}
	}
	return d
}
