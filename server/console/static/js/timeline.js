// A client's timeline: every record with its full history (who changed
// what, when, from which device, and what it replaced).

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, when, day, clock, label, field, fieldText, valueText, stampTime, clientName, errorBox, empty, short } from './dom.js';
import { CLIENT_FIELDS, CONTACT_FIELDS } from './display.js';
import { queryAnswered } from './schema.js';
import { ordersSection } from './orderreport.js';
import { topChange } from './topchart.js';

/** fetchTimeline loads a client's records and the people in them. */
export async function fetchTimeline(clientId, signal) {
  const resp = await call('ReviewService', 'GetTimeline', { clientId }, { signal });
  const records = resp.records ?? [];
  const people = lookup.peopleMap(resp.people);
  for (const d of resp.devices ?? []) lookup.devices.set(d.deviceId, d.name);
  const client = records.find((r) => r.record.recordType === 'client');
  if (client) lookup.clients.set(clientId, clientName(client.record));
  return { records, people, client, resp };
}

/** who names a user id from a people map. */
export function who(people, userId) {
  return people.get(userId) ?? short(userId);
}

const HIDDEN = ['deleted', 'author', 'subject_id'];

/** details lists a record's fields in order (the rest after), leaving out skip. */
export function details(record, order = [], skip = []) {
  const names = (record.fields ?? []).map((f) => f.field).filter((n) => !HIDDEN.includes(n) && !skip.includes(n));
  const sorted = [...order.filter((n) => names.includes(n)), ...names.filter((n) => !order.includes(n))];
  return h('dl', { class: 'facts' }, sorted.map((n) => [h('dt', null, label(n)), h('dd', null, fieldText(record, n))]));
}

// changedAt shows when a change was made (its stamp, the device's clock)
// and when the server accepted it.
function changedAt(e) {
  const made = stampTime(e.stamp);
  const got = e.receivedAt ? new Date(e.receivedAt) : null;
  const sameDay = made && got && made.toDateString() === got.toDateString();
  return [h('div', null, day(made)),
    h('div', { class: 'muted small' }, clock(made), got ? ' · synced ' + (sameDay ? clock(got) : when(got)) : '')];
}

// deviceName shows the device a change came from by name (its id on
// hover), or a short id if the server did not name it.
function deviceName(id) {
  const name = lookup.devices.get(id);
  return name ? h('div', { class: 'muted small device', title: id }, name) : h('div', { class: 'mono muted', title: id }, short(id));
}

/** syncedAt is when the server last accepted a change to a record. */
export function syncedAt(tr) {
  return (tr.history ?? []).reduce((t, e) => (e.receivedAt && e.receivedAt > t ? e.receivedAt : t), '');
}

/** overdueFollowUp reports whether a contact's follow-up date has passed
 * with no later live contact among contacts (newest first). */
export function overdueFollowUp(tr, contacts) {
  const d = field(tr.record, 'follow_up_date')?.dateValue;
  if (!d?.year || field(tr.record, 'deleted')) return false;
  const due = Date.UTC(d.year, d.month - 1, d.day);
  const today = new Date();
  if (due >= Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())) return false;
  const at = field(tr.record, 'occurred_at')?.timestampValue ?? '';
  return !contacts.some((o) => o !== tr && !field(o.record, 'deleted') && (field(o.record, 'occurred_at')?.timestampValue ?? '') > at);
}

/** history is a record's change log as a table inside a disclosure. */
export function history(entries, people, { open = false } = {}) {
  if (!entries?.length) return null;
  return h('details', { class: 'history', open },
    h('summary', null, `History (${entries.length} change${entries.length === 1 ? '' : 's'})`),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact' },
      h('thead', null, h('tr', null, ['When', 'Who, on which device', 'Field', 'Value', 'Replaced', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, entries.map((e) => h('tr', { class: e.won ? null : 'lost' },
        h('td', { class: 'nowrap' }, changedAt(e)),
        h('td', null, who(people, e.author?.userId), deviceName(e.author?.deviceId)),
        h('td', null, label(e.field)),
        h('td', null, e.field === 'author' ? who(people, e.value?.stringValue) : valueText(e.value, e.field)),
        h('td', { class: 'muted' }, e.replacedValue ? valueText(e.replacedValue, e.field) : '—'),
        h('td', null,
          e.won ? null : h('span', { class: 'badge muted', title: 'A newer value won by last-writer-wins' }, 'Superseded'),
          e.conflictId && e.conflictId !== '0' ? h('span', { class: 'badge conflict' }, 'Conflict') : null,
          (e.resolvedConflicts ?? []).length ? h('span', { class: 'badge ok' }, 'Resolved conflict') : null,
          e.late ? h('span', { class: 'badge late' }, 'Late') : null)))))));
}

// created is when a note was first written: the stamp of its subject.
function created(r) {
  const f = r.record.fields?.find((x) => x.field === 'subject_id');
  return BigInt((f?.stamp ?? r.record.stamp)?.time ?? 0);
}

/** notesFor lists the live review notes about a record, oldest first (the
 * last is the one a new decision updates). */
export function notesFor(records, id) {
  return records
    .filter((r) => r.record.recordType === 'review_note' && !field(r.record, 'deleted') &&
      field(r.record, 'subject_id')?.stringValue === id)
    .sort((a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : 0));
}

/** noteBlock shows a review note (supervisor's comment and worker's answer). */
export function noteBlock(note, people) {
  if (!note) return null;
  const r = note.record;
  const state = field(r, 'state')?.stringValue;
  const answer = field(r, 'worker_response')?.stringValue;
  const answered = queryAnswered(answer);
  return h('div', { class: ['note', state === 'query_to_worker' && !answered ? 'open' : null] },
    h('p', { class: 'note-head' }, h('strong', null, state === 'query_to_worker' ? (answered ? 'Query answered' : 'Query to worker') : label(state)),
      ' · ', who(people, r.author?.userId), ' · ', when(stampTime(r.stamp))),
    field(r, 'text') ? h('blockquote', null, fieldText(r, 'text')) : null,
    answered ? h('p', { class: 'answer' }, h('strong', null, 'Worker: '), answer) : null);
}

function contactCard(tr, records, people, clientId, contacts, missed) {
  const r = tr.record;
  const deleted = !!field(r, 'deleted');
  return h('article', { class: ['card', deleted ? 'deleted' : null], dataset: { record: r.recordId } },
    h('header', null,
      h('h3', null, fieldText(r, 'category'), ' · ', fieldText(r, 'occurred_at')),
      h('span', { class: 'muted' }, who(people, r.author?.userId), ' · ', fieldText(r, 'mode')),
      deleted ? h('span', { class: 'badge muted' }, 'Deleted') : null,
      (r.conflicts ?? []).length ? h('span', { class: 'badge conflict' }, 'Conflict') : null,
      missed.has(r.recordId) || fieldText(r, 'attendance') === 'Did not attend' ? h('span', { class: 'badge dna' }, 'DNA') : null,
      overdueFollowUp(tr, contacts) ? h('span', { class: 'badge overdue' }, 'Follow-up overdue') : null,
      link({ view: 'contact', client: clientId, contact: r.recordId }, 'Review')),
    syncedAt(tr) ? h('p', { class: 'muted small synced' }, 'Happened ', fieldText(r, 'occurred_at'), ' · synced ', when(syncedAt(tr))) : null,
    details(r, CONTACT_FIELDS, ['occurred_at', 'category', 'mode']),
    notesFor(records, r.recordId).map((n) => noteBlock(n, people)),
    history(tr.history, people));
}

const startsAt = (tr) => field(tr.record, 'starts_at')?.timestampValue ?? '';

function appointmentCard(tr, people) {
  const r = tr.record;
  const status = field(r, 'status')?.stringValue;
  const dna = status === 'did_not_attend';
  return h('article', { class: ['card', dna ? 'dna' : null], dataset: { record: r.recordId } },
    h('header', null,
      h('h3', null, fieldText(r, 'appointment_type'), ' · ', fieldText(r, 'starts_at')),
      h('span', { class: ['badge', dna ? 'dna' : status === 'attended' ? 'ok' : status === 'booked' ? 'info' : 'muted'] },
        dna ? `DNA${field(r, 'dna_reason') ? ' (' + fieldText(r, 'dna_reason') + ')' : ''}` : fieldText(r, 'status')),
      (r.conflicts ?? []).length ? h('span', { class: 'badge conflict' }, 'Conflict') : null),
    details(r, ['with_whom', 'place', 'duration_minutes', 'notes'], ['appointment_type', 'starts_at', 'status', 'dna_reason', 'contact_id', 'rescheduled_to']),
    history(tr.history, people));
}

function otherCard(tr, people, title) {
  const r = tr.record;
  return h('article', { class: 'card', dataset: { record: r.recordId } },
    h('header', null, h('h3', null, title(r)), h('span', { class: 'muted' }, who(people, r.author?.userId))),
    details(r),
    history(tr.history, people));
}

function section(title, items) {
  if (!items.length) return null;
  return h('section', { class: 'records' }, h('h2', null, `${title} (${items.length})`), items);
}

const occurred = (tr) => field(tr.record, 'occurred_at')?.timestampValue ?? '';

/** render draws a client's timeline. */
export async function render(root, params, { signal }) {
  if (signal.aborted) return; // the person has moved on
  const clientId = params.get('client') ?? '';
  replace(root, h('p', { class: 'loading' }, 'Loading the timeline…'));
  let tl;
  try {
    tl = await fetchTimeline(clientId, signal);
  } catch (err) {
    if (err.name !== 'AbortError') replace(root, h('h1', null, 'Client timeline'), errorBox(err, () => render(root, params, { signal })));
    return;
  }
  const { records, people, client, resp } = tl;
  if (!client) {
    replace(root, h('h1', null, 'Client timeline'), empty('No such client', 'It may have been removed from your teams.'));
    return;
  }
  const of = (type) => records.filter((r) => r.record.recordType === type);
  const contacts = of('contact').sort((a, b) => occurred(b).localeCompare(occurred(a)));
  const c = client.record;
  const flags = field(c, 'risk_flags');
  const appointments = of('appointment').filter((tr) => !field(tr.record, 'deleted'))
    .sort((a, b) => startsAt(b).localeCompare(startsAt(a)));
  const missed = new Set(appointments.filter((tr) => field(tr.record, 'status')?.stringValue === 'did_not_attend')
    .map((tr) => field(tr.record, 'contact_id')?.stringValue).filter(Boolean));
  const conflicted = records.filter((tr) => (tr.record.conflicts ?? []).length).length;
  replace(root,
    h('div', { class: 'page-head' },
      h('div', null, h('p', { class: 'eyebrow' }, 'Client timeline'), h('h1', null, clientName(c))),
      link({ view: 'queue', client: clientId }, 'Contacts in the queue')),
    h('div', { class: 'chips' },
      h('span', { class: 'badge info' }, fieldText(c, 'pathway')),
      h('span', { class: 'badge' }, fieldText(c, 'status')),
      flags ? valueText(flags).split(', ').filter((x) => x !== 'None').map((f) => h('span', { class: 'badge late' }, f)) : null),
    h('section', { class: 'card' },
      details(c, CLIENT_FIELDS, ['given_name', 'family_name', 'pathway', 'status']),
      history(client.history, people)),
    conflicted ? h('p', { class: 'state warn', id: 'client-conflicts' }, h('span', { class: 'badge conflict' }, `${conflicted} open conflict${conflicted === 1 ? '' : 's'}`),
      ' ', link({ view: 'conflicts' }, 'Settle them')) : null,
    ordersSection(records, clientId),
    topChange(resp),
    section('Appointments', appointments.map((tr) => appointmentCard(tr, people))),
    section('Contacts', contacts.map((tr) => contactCard(tr, records, people, clientId, contacts, missed))),
    section('Goals', of('goal').map((tr) => otherCard(tr, people, (r) => `${fieldText(r, 'domain')}: ${fieldText(r, 'description')}`))),
    section('Referrals', of('referral').map((tr) => otherCard(tr, people, (r) => `${fieldText(r, 'service_type')}: ${fieldText(r, 'organisation')}`))),
    contacts.length ? null : empty('No contacts yet', 'Contacts logged for this client will appear here.'));
}
