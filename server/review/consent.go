package review

import (
	"time"

	"github.com/throughcare/throughcare/syncproto/caseday"
	"github.com/throughcare/throughcare/syncproto/consent"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Exports and statistics respect withdrawn consent: a client whose consent
// to national monitoring is withdrawn on the service's day (the rule of
// package syncproto/consent) is left out of the contacts export and out of
// every statistic, and GetStatistics counts them in consent_excluded. A
// client with no national-monitoring consent recorded (every client from
// before schema 4) stays in. The review queue and timelines still show
// them: their care goes on.

// consentOf is what the consent rule needs of a consent record.
func consentOf(r *rec) consent.Record {
	return consent.Record{ID: string(r.id), Scope: string(r.str("scope")), Given: dayTime(r.day("given_on")),
		Withdrawn: dayTime(r.day("withdrawn_on")), Deleted: r.get(schema.DeletedField) != nil}
}

// excluded reports whether the bucket's client is left out of exports and
// statistics on the service's day at now.
func (b *bucketData) excluded(now time.Time) bool {
	if len(b.consents) == 0 {
		return false
	}
	y, m, d := caseday.Today(now)
	return consent.Derive(b.consents, time.Date(y, m, d, 0, 0, 0, 0, time.UTC)).Excluded()
}
