package access

import (
	"fmt"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// Late work: changes for a client the caller no longer holds, made while
// they held it and delivered since (a tablet offline when its client was
// reassigned). The device chooses its stamps, so a stamp inside a former
// assignment proves nothing; what late work may do is therefore narrow.

// DefaultLateWorkWindow is how long after access ended late work is
// accepted unless Push.Window (the server's configuration) says otherwise.
const DefaultLateWorkWindow = 14 * 24 * time.Hour

// lateTypes are the record types late work may create or edit: the
// caller's own work about the client, never the client record nor a
// supervisor's review notes.
var lateTypes = []string{"contact", "goal", "referral"}

func accessEnded(format string, args ...any) Decision {
	return Decision{Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED, Message: fmt.Sprintf(format, args...)}
}

func dateOf(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") }

// late decides a change for a client the caller does not hold: flagged
// late if they may still deliver it, refused otherwise. It is accepted
// only if all of these hold:
//
//   - it is stamped inside a period in which the caller held the client;
//   - this device has not been sent the client's eviction since that
//     period ended (a device told to drop the client sends no more work
//     for it);
//   - it arrives within the late-work window after the period ended;
//   - it creates a contact, goal or referral, or edits one the caller
//     created, and removes nothing from a set.
func (p *Push) late(ch *v1.Change, current *v1.RecordState) Decision {
	periods := p.ID.Former[ch.GetClientId()]
	if len(periods) == 0 {
		return notFound
	}
	at := hlc.Wall(ch.GetStamp().GetTime())
	i := slices.IndexFunc(periods, func(q identity.Period) bool { return q.Covers(at) })
	if i < 0 {
		return accessEnded("made after your access to this client ended (%s); it was not saved", dateOf(periods[len(periods)-1].To))
	}
	end := periods[i].To
	if told, ok := p.Evicted[ch.GetClientId()]; ok && !told.Before(end) {
		return accessEnded("this client was removed from this tablet after your access ended (%s), so work on it can no longer be sent from it; it was not saved", dateOf(end))
	}
	window := p.Window
	if window == 0 {
		window = DefaultLateWorkWindow
	}
	if p.Now.Sub(end) > window {
		return accessEnded("sent more than %s after your access to this client ended (%s); work done before then is accepted for %s only, so it was not saved", span(window), dateOf(end), span(window))
	}
	if d := p.lateScope(ch, current); d.Refused() {
		return d
	}
	return Decision{Late: true}
}

// lateScope says whether late work may touch the record at all.
func (p *Push) lateScope(ch *v1.Change, current *v1.RecordState) Decision {
	const why = "your access to this client has ended: only contacts, goals and referrals you created can still be sent"
	switch {
	case !slices.Contains(lateTypes, ch.GetRecordType()):
		return accessEnded("%s; changes to the client's record or review notes were not saved", why)
	case ch.GetValue().GetSetRemove() != nil:
		return accessEnded("%s, and nothing can be removed from them; it was not saved", why)
	case current != nil && !createdBy(current, p.ID.UserID):
		return accessEnded("%s; this %s is someone else's work, so it was not saved", why, ch.GetRecordType())
	}
	return Decision{}
}

// createdBy reports whether user created a record. A record with an
// author names it (fixed when it is made); goals and referrals do not record who
// created them, so only one whose every current value and open conflict
// is user's own counts.
func createdBy(st *v1.RecordState, user string) bool {
	if a := recordAuthor(st); a != "" {
		return a == user
	}
	for _, f := range st.GetFields() {
		if f.GetAuthor().GetUserId() != user {
			return false
		}
	}
	for _, c := range st.GetConflicts() {
		if c.GetCurrent().GetAuthor().GetUserId() != user || c.GetIncoming().GetAuthor().GetUserId() != user {
			return false
		}
	}
	return true
}

// span writes a duration for a tablet user: whole days as days.
func span(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
