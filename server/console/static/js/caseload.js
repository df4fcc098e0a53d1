// The caseload: every client in reach with their worker, last contact,
// next appointment, next TOP (topschedule.js) and what is overdue, sortable, searched by name, date
// of birth or initials. The order and team are in the address; the search
// text is kept in the history entry (app.js PRIVATE), never the address.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, label, day, when, ukDate, errorBox, empty } from './dom.js';
import { nextTOPCell, scheduleNote } from './topschedule.js';

const SORTS = [['', 'Name'], ['CASELOAD_SORT_LAST_CONTACT', 'Last contact (longest ago first)'],
  ['CASELOAD_SORT_NEXT_APPOINTMENT', 'Next appointment (soonest first)'], ['CASELOAD_SORT_OVERDUE', 'Most overdue first'],
  ['CASELOAD_SORT_WORKER', 'Worker']];

function controls(params, navigate) {
  const get = (k) => params.get(k) ?? '';
  const team = h('select', { id: 'c-team', name: 'team' }, h('option', { value: '' }, 'All my teams'));
  lookup.getTeams().then((ts) => team.append(...ts.map((t) => h('option', { value: t.teamId, selected: t.teamId === get('team') }, t.name)))).catch(() => {});
  const form = h('form', { class: 'filters', id: 'caseload-search', role: 'search', 'aria-label': 'Search the caseload' },
    h('div', { class: 'field grow' }, h('label', { for: 'c-q' }, 'Name, date of birth or initials'),
      h('input', { type: 'search', id: 'c-q', name: 'q', value: get('q'), autocomplete: 'off', spellcheck: 'false', maxlength: '100',
        placeholder: 'e.g. Smith, 31/01/1990, AS' })),
    h('div', { class: 'field' }, h('label', { for: 'c-team' }, 'Team'), team),
    h('div', { class: 'field' }, h('label', { for: 'c-sort' }, 'Order'),
      h('select', { id: 'c-sort', name: 'sort' }, SORTS.map(([v, t]) => h('option', { value: v, selected: v === get('sort') }, t)))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'c-closed', name: 'closed', checked: params.has('closed') }), 'Closed clients too'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'quiet', onClick: () => navigate({ view: 'caseload' }) }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = { view: 'caseload' };
    for (const [k, v] of new FormData(form)) if (v) next[k] = v === 'on' ? '1' : v;
    navigate(next);
  });
  return form;
}

function count(n, what, cls) {
  return n ? h('span', { class: ['badge', cls] }, `${n} ${what}`) : null;
}

function row(c) {
  lookup.clients.set(c.clientId, c.clientName);
  const dna = c.missedAppointments ?? 0;
  const overdue = (c.overdueAppointments ?? 0) + (c.overdueFollowUps ?? 0);
  return h('tr', { class: [dna ? 'dna' : null, overdue ? 'overdue' : null], dataset: { client: c.clientId } },
    h('th', { scope: 'row' }, link({ view: 'client', client: c.clientId }, c.clientName || 'Client'),
      c.status === 'closed' ? h('span', { class: 'badge muted' }, 'Closed') : null),
    h('td', { class: 'nowrap' }, ukDate(c.dateOfBirth)),
    h('td', null, (c.workers ?? []).map((p) => p.displayName).join(', ') || h('span', { class: 'muted' }, 'None assigned')),
    h('td', { class: 'nowrap' }, c.lastContact ? day(c.lastContact) : h('span', { class: 'muted' }, 'Never')),
    h('td', null, c.nextAppointment ? [h('div', null, when(c.nextAppointment)), h('div', { class: 'muted small' }, label(c.nextAppointmentType))]
      : h('span', { class: 'muted' }, 'None booked')),
    nextTOPCell(c),
    h('td', { class: 'flags' },
      dna ? h('span', { class: 'badge dna', title: `Last on ${day(c.lastMissed)}` }, `${dna} DNA`) : null,
      count(c.overdueAppointments, 'without outcome', 'overdue'),
      count(c.overdueFollowUps, 'follow-up overdue', 'overdue'),
      count(c.openConflicts, c.openConflicts === 1 ? 'conflict' : 'conflicts', 'conflict'),
      count(c.openQueries, c.openQueries === 1 ? 'open query' : 'open queries', 'warn')));
}

/** render draws the caseload. */
export async function render(root, params, { signal, navigate }) {
  const status = h('p', { class: 'count', role: 'status', id: 'caseload-status' });
  const body = h('div', { class: 'results', id: 'caseload', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading the caseload…'));
  const topNote = h('div');
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Caseload')), controls(params, navigate), topNote, status, body);
  const req = { search: params.get('q') ?? '' };
  if (params.get('team')) req.teamId = params.get('team');
  if (params.get('sort')) req.sort = params.get('sort');
  if (params.get('closed')) req.includeClosed = true;
  try {
    const resp = await call('ReviewService', 'GetCaseload', req, { signal });
    const clients = resp.clients ?? [];
    replace(topNote, scheduleNote(resp.topSchedule));
    status.textContent = req.search ? `${clients.length} of ${resp.total ?? 0} clients match` : `${clients.length} clients`;
    if (!clients.length) {
      replace(body, req.search ? empty('No client matches', 'Try part of a name, a date of birth as 31/01/1990, or initials.') : empty('No clients yet'));
      return;
    }
    replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('caption', { class: 'sr-only' }, 'Clients in your caseload'),
      h('thead', null, h('tr', null, ['Client', 'Born', 'Worker', 'Last contact', 'Next appointment', 'Next TOP', 'Needs attention']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, clients.map(row)))));
  } catch (err) {
    if (err.name !== 'AbortError') replace(body, errorBox(err, () => render(root, params, { signal, navigate })));
  } finally {
    body.removeAttribute('aria-busy');
  }
}
