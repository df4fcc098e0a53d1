// What the console knows of the record schema (syncproto/schema/builtin.go):
// the enumerations, for filters, labels and conflict resolution.

const housing = ['rough_sleeping', 'night_shelter', 'hostel', 'temporary_accommodation', 'supported_housing',
  'staying_with_family_or_friends', 'settled_tenancy', 'owner_occupier', 'in_prison', 'unknown'];
const ete = ['unemployed_seeking', 'unemployed_not_seeking', 'unable_to_work', 'in_training', 'in_education',
  'volunteering', 'employed_part_time', 'employed_full_time', 'unknown'];

/** CATEGORIES are what a contact can be about, in the schema's order. */
export const CATEGORIES = ['housing', 'employment', 'education_training', 'family', 'finance',
  'treatment_attendance', 'drug_test', 'health', 'general'];

/** ENUMS are the values of every enumerated field, by field name. */
export const ENUMS = {
  category: CATEGORIES,
  mode: ['home_visit', 'office', 'phone', 'prison', 'court', 'community'],
  pathway: ['arrest_referral', 'drr', 'dtto', 'licence', 'voluntary'],
  status: ['active', 'closed', 'open', 'achieved', 'dropped', 'made', 'accepted', 'declined', 'completed', 'withdrawn'],
  housing_status: housing,
  housing_status_after: housing,
  ete_status: ete,
  ete_status_after: ete,
  attendance: ['attended', 'did_not_attend', 'rescheduled'],
  test_result: ['negative', 'positive', 'refused', 'invalid'],
  domain: ['housing', 'finance', 'family', 'skills', 'employment', 'treatment'],
  service_type: ['housing_provider', 'job_centre', 'debt_advice', 'family_support', 'treatment_service', 'education_provider'],
  state: ['reviewed', 'query_to_worker', 'resolved'],
};

/** STATUS_BY_TYPE narrows "status", which several record types share. */
export const STATUS_BY_TYPE = {
  client: ['active', 'closed'],
  goal: ['open', 'achieved', 'dropped'],
  referral: ['made', 'accepted', 'declined', 'completed', 'withdrawn'],
};

/** enumValues lists the values a field of a record type may take, or null. */
export function enumValues(recordType, fieldName) {
  if (fieldName === 'status') return STATUS_BY_TYPE[recordType] ?? null;
  return ENUMS[fieldName] ?? null;
}

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
