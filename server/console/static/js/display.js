// How the console lays out what the schema defines: the order of a
// record's fields on screen and the words for ContactFilter's review
// states. The schema itself (enumerations, the query-answered rule) is in
// schema.js, generated from the registry.

/** REVIEW_STATES are ContactFilter's review states, with their words. */
export const REVIEW_STATES = [
  ['REVIEW_STATE_UNREVIEWED', 'Not reviewed'],
  ['REVIEW_STATE_REVIEWED', 'Reviewed'],
  ['REVIEW_STATE_QUERY_OPEN', 'Query open'],
  ['REVIEW_STATE_QUERY_ANSWERED', 'Query answered'],
  ['REVIEW_STATE_RESOLVED', 'Resolved'],
];

/** reviewStateText gives a review state's words. */
export function reviewStateText(state) {
  return REVIEW_STATES.find(([k]) => k === state)?.[1] ?? 'Not reviewed';
}

/** CONTACT_FIELDS orders a contact's fields for display. */
export const CONTACT_FIELDS = ['occurred_at', 'category', 'mode', 'outcome', 'notes', 'duration_minutes',
  'follow_up_date', 'attendance', 'provider', 'test_result', 'substances', 'housing_status_after', 'ete_status_after'];

/** CLIENT_FIELDS orders a client's fields for display. */
export const CLIENT_FIELDS = ['pathway', 'status', 'date_of_birth', 'housing_status', 'ete_status',
  'treatment_provider', 'consent_to_share', 'risk_flags', 'keyworker_notes'];
