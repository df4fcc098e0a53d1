// The Treatment Outcomes Profile schedule in the console: each caseload
// line's next TOP (stage, due day, due or overdue), and the supervisors'
// data-quality list (view=topissues): clients in treatment past the
// area's review interval with no review TOP, and TOP stages out of order.
// The server works both out with package topschedule, as the tablet does.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, ukDate, errorBox, empty } from './dom.js';

const STAGES = { start: 'Start TOP', review: 'Review TOP', exit: 'Exit TOP' };

/** nextTOPCell is a caseload line's next TOP cell. */
export function nextTOPCell(c) {
  const n = c.nextTop;
  if (!n) return h('td', { class: 'top-next' }, h('span', { class: 'muted' }, 'None due'));
  const state = n.state ?? '';
  return h('td', { class: 'top-next', dataset: { topState: state.replace('TOP_STATE_', '').toLowerCase() } },
    h('div', null, STAGES[n.stage] ?? n.stage),
    h('div', { class: 'muted small' }, 'due ' + ukDate(n.due)),
    state === 'TOP_STATE_OVERDUE' ? h('span', { class: 'badge overdue', title: `Window closed ${ukDate(n.windowTo)}` }, 'TOP overdue') : null,
    state === 'TOP_STATE_DUE' ? h('span', { class: 'badge warn', title: `Window ${ukDate(n.windowFrom)} to ${ukDate(n.windowTo)}` }, 'TOP due') : null);
}

/** scheduleNote says the area's schedule ("reviews every 3 months"). */
export function scheduleNote(s) {
  if (!s) return null;
  return h('p', { class: 'muted small', id: 'top-schedule' },
    `TOP reviews every ${s.intervalMonths ?? 3} months, ${s.windowDays ?? 14} days either side`,
    s.own ? ' (this area\u2019s setting). ' : ' (the default). ',
    link({ view: 'topissues' }, 'TOP data quality'));
}

const KINDS = {
  TOP_ISSUE_KIND_REVIEW_MISSING: 'No review TOP since the interval passed (due ',
  TOP_ISSUE_KIND_REVIEW_BEFORE_START: 'A review TOP before any start TOP (',
  TOP_ISSUE_KIND_REVIEW_AFTER_EXIT: 'A review TOP after an exit without a new start (',
  TOP_ISSUE_KIND_SECOND_START: 'A second start TOP in one episode (',
  TOP_ISSUE_KIND_EXIT_BEFORE_START: 'An exit TOP before any start TOP (',
  TOP_ISSUE_KIND_EXIT_AFTER_EXIT: 'An exit TOP after an exit without a new start (',
  TOP_ISSUE_KIND_POST_EXIT_IN_TREATMENT: 'A post-treatment exit TOP before the exit (',
};

function issueItem(is) {
  return h('li', { dataset: { kind: (is.kind ?? '').replace('TOP_ISSUE_KIND_', '').toLowerCase() } },
    (KINDS[is.kind] ?? 'An issue (') + ukDate(is.day) + ')');
}

function row(c) {
  lookup.clients.set(c.clientId, c.clientName);
  return h('tr', { dataset: { client: c.clientId } },
    h('th', { scope: 'row' }, link({ view: 'client', client: c.clientId }, c.clientName || 'Client')),
    h('td', null, c.teamName || ''),
    h('td', null, (c.workers ?? []).map((p) => p.displayName).join(', ') || h('span', { class: 'muted' }, 'None assigned')),
    h('td', { class: 'nowrap' }, ukDate(c.treatmentStarted)),
    h('td', null, h('ul', { class: 'plain' }, (c.issues ?? []).map(issueItem))));
}

/** render draws the TOP data-quality list. */
export async function render(root, params, { signal }) {
  const status = h('p', { class: 'count', role: 'status', id: 'topissues-status' });
  const body = h('div', { class: 'results', id: 'topissues', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Checking the TOPs…'));
  const note = h('div');
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'TOP data quality'),
    link({ view: 'caseload' }, 'Back to the caseload')), note, status, body);
  const req = {};
  if (params.get('team')) req.teamId = params.get('team');
  try {
    const resp = await call('ReviewService', 'ListTOPIssues', req, { signal });
    const clients = resp.clients ?? [];
    replace(note, scheduleNote(resp.topSchedule));
    note.querySelector('a')?.remove();
    status.textContent = `${clients.length} of ${resp.checked ?? 0} open clients need attention`;
    if (!clients.length) {
      replace(body, empty('No TOP issues', 'Every client in treatment has a review TOP within the interval, and their TOPs are in order.'));
      return;
    }
    replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('caption', { class: 'sr-only' }, 'Clients with TOP issues'),
      h('thead', null, h('tr', null, ['Client', 'Team', 'Worker', 'Treatment began', 'Issues'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, clients.map(row)))));
  } catch (err) {
    if (err.name !== 'AbortError') replace(body, errorBox(err, () => render(root, params, { signal })));
  } finally {
    body.removeAttribute('aria-busy');
  }
}
