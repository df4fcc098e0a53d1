// One contact: its fields, its review note and history, and the
// supervisor's decision (mark reviewed, raise a query, close a query).

import { call } from './api.js';
import { h, replace, link, field, fieldText, clientName, errorBox, empty, busy, toast, when } from './dom.js';
import { CONTACT_FIELDS } from './display.js';
import { queryAnswered } from './schema.js';
import { fetchTimeline, details, history, noteBlock, notesFor, who, syncedAt } from './timeline.js';
import { filterOf } from './queue.js';

function reviewState(note) {
  if (!note) return 'unreviewed';
  const state = field(note.record, 'state')?.stringValue;
  if (state === 'query_to_worker') return queryAnswered(field(note.record, 'worker_response')?.stringValue) ? 'answered' : 'open';
  return state; // reviewed, resolved
}

// queueParams is the queue the contact was opened from (its filters and
// page), from the contact's address.
function queueParams(params) {
  const back = new URLSearchParams(params.get('back') ?? '');
  back.set('view', 'queue');
  return back;
}

// nextUnreviewed finds the newest unreviewed contact of the queue's
// filters other than this one, or null.
async function nextUnreviewed(params, contactId) {
  const filter = { ...filterOf(queueParams(params)), reviewState: 'REVIEW_STATE_UNREVIEWED' };
  const resp = await call('ReviewService', 'ListContacts', { filter, pageSize: 2 });
  return (resp.contacts ?? []).find((c) => c.record.recordId !== contactId) ?? null;
}

function decisionForm(clientId, contactId, state, done) {
  const comment = h('textarea', { id: 'comment', name: 'comment', rows: '3', maxlength: '4000', 'aria-describedby': 'comment-help' });
  const error = h('div', { class: 'state error', role: 'alert', hidden: true });
  const decide = (decision, button) => busy(button, async () => {
    error.hidden = true;
    const text = comment.value.trim();
    if (decision === 'REVIEW_DECISION_QUERY' && !text) {
      replace(error, h('p', null, 'Write the question for the worker first.'));
      error.hidden = false;
      comment.focus();
      return;
    }
    try {
      await call('ReviewService', 'ReviewContact', { clientId, contactId, decision, comment: text });
      toast({ REVIEW_DECISION_REVIEWED: 'Marked reviewed', REVIEW_DECISION_QUERY: 'Query sent to the worker', REVIEW_DECISION_RESOLVED: 'Query closed' }[decision]);
      done(decision);
    } catch (err) {
      replace(error, h('p', { class: 'title' }, err.title), h('p', null, err.message));
      error.hidden = false;
    }
  });
  const button = (text, decision, cls) => {
    const b = h('button', { type: 'button', class: cls, dataset: { decision } }, text);
    b.addEventListener('click', () => decide(decision, b));
    return b;
  };
  return h('form', { class: 'decision stack', 'aria-labelledby': 'decision-title', onSubmit: (e) => e.preventDefault() },
    h('h2', { id: 'decision-title' }, 'Your review'),
    h('div', { class: 'field' }, h('label', { for: 'comment' }, 'Comment for the worker'), comment,
      h('p', { class: 'hint', id: 'comment-help' }, 'Optional when marking reviewed; required for a query. It syncs to the worker’s tablet.')),
    error,
    h('div', { class: 'actions' },
      button('Mark reviewed', 'REVIEW_DECISION_REVIEWED', 'primary'),
      button('Raise query', 'REVIEW_DECISION_QUERY', null),
      state === 'answered' || state === 'open' ? button('Close query', 'REVIEW_DECISION_RESOLVED', 'quiet') : null));
}

/** render draws a contact for review. */
export async function render(root, params, ctx) {
  if (ctx.signal.aborted) return; // the person has moved on
  const clientId = params.get('client') ?? '';
  const contactId = params.get('contact') ?? '';
  replace(root, h('p', { class: 'loading' }, 'Loading the contact…'));
  let tl;
  try {
    tl = await fetchTimeline(clientId, ctx.signal);
  } catch (err) {
    if (err.name !== 'AbortError') replace(root, h('h1', null, 'Contact'), errorBox(err, () => render(root, params, ctx)));
    return;
  }
  const { records, people, client } = tl;
  const tr = records.find((r) => r.record.recordId === contactId && r.record.recordType === 'contact');
  if (!tr) {
    replace(root, h('h1', null, 'Contact'), empty('No such contact', 'It may have been removed, or be outside your teams.'));
    return;
  }
  const r = tr.record;
  const notes = notesFor(records, contactId);
  const note = notes.at(-1);
  const state = reviewState(note);
  const name = client ? clientName(client.record) : 'Client';
  replace(root,
    h('p', { class: 'crumbs' }, link(queueParams(params), '← Review queue'), ' · ', link({ view: 'client', client: clientId }, `${name} — timeline`)),
    h('div', { class: 'page-head' },
      h('div', null, h('p', { class: 'eyebrow' }, fieldText(r, 'category'), ' contact'), h('h1', null, name)),
      h('span', { class: ['badge', { unreviewed: 'todo', reviewed: 'ok', open: 'warn', answered: 'info', resolved: 'done' }[state]], id: 'review-state' },
        { unreviewed: 'Not reviewed', reviewed: 'Reviewed', open: 'Query open', answered: 'Query answered', resolved: 'Resolved' }[state])),
    h('div', { class: 'split' },
      h('section', { class: 'card' },
        h('p', { class: 'muted' }, fieldText(r, 'occurred_at'), ' · ', fieldText(r, 'mode'), ' · logged by ', who(people, r.author?.userId)),
        h('p', { class: 'muted small', id: 'contact-times' }, 'Happened ', fieldText(r, 'occurred_at'), ' · synced ', when(syncedAt(tr))),
        details(r, CONTACT_FIELDS, ['occurred_at', 'mode', 'category']),
        notes.map((n) => noteBlock(n, people)),
        history(tr.history, people)),
      h('aside', { class: 'card' }, decisionForm(clientId, contactId, state, async (decision) => {
        // After "Mark reviewed", the next unreviewed contact of the same queue.
        if (decision === 'REVIEW_DECISION_REVIEWED') {
          const next = await nextUnreviewed(params, contactId).catch(() => null);
          if (ctx.signal.aborted) return;
          if (next) {
            ctx.navigate({ view: 'contact', client: next.clientId, contact: next.record.recordId, back: params.get('back') ?? '' });
            return;
          }
          toast('No more unreviewed contacts in this queue');
        }
        render(root, params, ctx);
      }))));
}
