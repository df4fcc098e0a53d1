// The review queue: synced contacts, newest first, with filters, paging,
// live arrivals and a CSV export of the period.

import { call } from './api.js';
import * as live from './live.js';
import * as lookup from './lookup.js';
import { exportCSV, dayStart } from './export.js';
import { h, replace, link, label, field, fieldText, day, clock, errorBox, empty, short, dateInput } from './dom.js';
import { REVIEW_STATES, reviewStateText } from './display.js';
import { CATEGORIES } from './schema.js';

// Rows per page: 25, or the address's size (1 to 500).
const pageSize = (p) => Math.min(500, Math.max(1, Number(p.get('size')) || 25));


/** filterOf turns the queue's address into a ContactFilter. */
export function filterOf(p) {
  const f = {};
  if (p.get('team')) f.teamId = p.get('team');
  if (p.get('worker')) f.workerId = p.get('worker');
  if (p.get('client')) f.clientId = p.get('client');
  if (p.get('category')) f.category = p.get('category');
  if (p.get('from')) f.from = dayStart(p.get('from'));
  if (p.get('to')) f.to = dayStart(p.get('to'), 1); // the whole "to" day
  if (p.get('state')) f.reviewState = p.get('state');
  if (p.get('late')) f.lateOnly = true;
  if (p.get('conflict')) f.conflictsOnly = true;
  if (p.get('missed')) f.missedOnly = true;
  if (p.get('overdue')) f.followUpOverdueOnly = true;
  return f;
}

function select(name, text, options, value) {
  const el = h('select', { id: 'f-' + name, name },
    h('option', { value: '' }, 'Any'),
    options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  return h('div', { class: 'field' }, h('label', { for: 'f-' + name }, text), el);
}

function filters(params, navigate) {
  const get = (k) => params.get(k) ?? '';
  const clientOptions = () => [...lookup.clients].sort((a, b) => a[1].localeCompare(b[1]));
  const form = h('form', { class: 'filters', id: 'filters', 'aria-label': 'Filter contacts' });
  const teamBox = select('team', 'Team', [], get('team'));
  const workerBox = select('worker', 'Worker', [], get('worker'));
  const clientBox = select('client', 'Client', clientOptions(), get('client'));
  const fillClients = () => {
    const sel = clientBox.querySelector('select');
    const v = sel.value || get('client');
    replace(sel, h('option', { value: '' }, 'Any'), clientOptions().map(([id, n]) => h('option', { value: id, selected: id === v }, n)));
    if (v && !lookup.clients.has(v)) sel.append(h('option', { value: v, selected: true }, short(v)));
  };
  fillClients();
  live.events.addEventListener('ready', fillClients);
  live.events.addEventListener('changes', fillClients);
  lookup.getTeams().then((ts) => replace(teamBox.querySelector('select'), h('option', { value: '' }, 'All teams'),
    ts.map((t) => h('option', { value: t.teamId, selected: t.teamId === get('team') }, t.name)))).catch(() => {});
  lookup.getUsers().then((us) => replace(workerBox.querySelector('select'), h('option', { value: '' }, 'Any'),
    us.filter((u) => u.role !== 'ROLE_ADMIN').map((u) => h('option', { value: u.userId, selected: u.userId === get('worker') }, u.displayName)))).catch(() => {});

  const date = (name, text) => h('div', { class: 'field' }, h('label', { for: 'f-' + name }, text),
    dateInput({ id: 'f-' + name, name, value: get(name) }));
  const check = (name, text) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', id: 'f-' + name, name, checked: params.has(name) }), text);

  if (params.get('size')) form.append(h('input', { type: 'hidden', name: 'size', value: params.get('size') }));
  form.append(teamBox, workerBox, clientBox,
    select('category', 'Category', CATEGORIES.map((c) => [c, label(c)]), get('category')),
    date('from', 'From'), date('to', 'To'),
    select('state', 'Review', REVIEW_STATES, get('state')),
    h('fieldset', { class: 'checks' }, h('legend', { class: 'sr-only' }, 'Only'), check('late', 'Late only'), check('conflict', 'With conflicts'),
      check('missed', 'Missed appointments'), check('overdue', 'Overdue follow-ups')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'button', class: 'quiet', onClick: () => navigate({ view: 'queue' }) }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = { view: 'queue' };
    for (const [k, v] of new FormData(form)) if (v) next[k] = v === 'on' ? '1' : v;
    navigate(next);
  });
  return { form, cleanup: () => {
    live.events.removeEventListener('ready', fillClients);
    live.events.removeEventListener('changes', fillClients);
  } };
}

function badge(state) {
  const cls = { REVIEW_STATE_REVIEWED: 'ok', REVIEW_STATE_QUERY_OPEN: 'warn', REVIEW_STATE_QUERY_ANSWERED: 'info', REVIEW_STATE_RESOLVED: 'done' }[state] ?? 'todo';
  return h('span', { class: ['badge', cls] }, reviewStateText(state));
}

function row(c, fresh) {
  const rec = c.record;
  const id = rec.recordId;
  if (c.clientName) lookup.clients.set(c.clientId, c.clientName);
  const occurred = fieldText(rec, 'occurred_at');
  const at = field(rec, 'occurred_at')?.timestampValue;
  const cls = [fresh ? 'fresh' : null, c.missedAppointment ? 'dna' : null, c.followUpOverdue ? 'overdue' : null].filter(Boolean).join(' ');
  return h('tr', { class: cls || null, dataset: { contact: id } },
    h('td', { class: 'nowrap' }, at ? [h('div', null, day(at)), h('div', { class: 'muted small' }, clock(at))] : '—'),
    h('td', { class: 'nowrap' }, link({ view: 'client', client: c.clientId }, c.clientName || short(c.clientId))),
    h('td', null, fieldText(rec, 'category')),
    h('td', { class: 'wide-only' }, fieldText(rec, 'mode')),
    h('td', { class: 'worker' }, c.authorName || short(c.authorId)),
    h('td', { class: 'outcome' }, field0(rec, 'outcome')),
    h('td', null, badge(c.reviewState),
      c.late ? h('span', { class: 'badge late', title: 'Arrived after the worker’s access ended' }, 'Late') : null,
      (rec.conflicts ?? []).length ? h('span', { class: 'badge conflict' }, 'Conflict') : null,
      c.missedAppointment ? h('span', { class: 'badge dna', title: 'Records a missed appointment' }, 'DNA') : null,
      c.followUpOverdue ? h('span', { class: 'badge overdue', title: 'The follow-up date has passed with no later contact' }, 'Follow-up overdue') : null,
      !(rec.conflicts ?? []).length && c.clientConflicts ? h('span', { class: 'badge conflict', title: 'Open conflicts on this client’s records' },
        `Client: ${c.clientConflicts} conflict${c.clientConflicts === 1 ? '' : 's'}`) : null),
    h('td', { class: 'act' }, link({ view: 'contact', client: c.clientId, contact: id, back: location.search.slice(1) },
      'Open', h('span', { class: 'sr-only' }, ` the contact with ${c.clientName || 'the client'} on ${occurred}`))));
}

function field0(rec, name) {
  const t = fieldText(rec, name);
  return t === '—' ? h('span', { class: 'muted' }, '—') : t;
}

/** render draws the queue. */
export function render(root, params, { signal, navigate }) {
  const PAGE_SIZE = pageSize(params);
  const { form, cleanup } = filters(params, navigate);
  signal.addEventListener('abort', cleanup);
  const status = h('p', { class: 'count', role: 'status', id: 'queue-status' });
  const body = h('div', { class: 'results', id: 'queue' });
  const banner = h('div', { class: 'arrivals', id: 'arrivals', role: 'status', 'aria-live': 'polite', hidden: true });
  // Page tokens: tokens[i] fetches page i. The page number is in the
  // address; the tokens ride in the history entry, so going back to a page
  // needs one call (an address opened afresh walks to its page).
  const tokens = Array.isArray(history.state?.queueTokens) ? [...history.state.queueTokens] : [''];
  let page = Math.max(0, Math.min(1000, Number(params.get('page')) || 0));
  let shown = new Set();
  let arrived = 0;
  let total = 0;

  const exportButton = h('button', { type: 'button', class: 'quiet', id: 'export-contacts',
    title: 'Every contact of the chosen period and team, as a spreadsheet' }, 'Download CSV');
  exportButton.addEventListener('click', () => exportCSV(exportButton, 'contacts', params));

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Review queue'), exportButton),
    form, banner, status, body);

  // keepPage writes the page number into the address and the tokens into
  // the history entry.
  function keepPage() {
    const p = new URLSearchParams(location.search);
    if (page) p.set('page', String(page));
    else p.delete('page');
    history.replaceState({ ...(history.state ?? {}), queueTokens: tokens }, '', '/?' + p);
  }

  // walk fetches the tokens up to page (an address opened afresh).
  async function walk() {
    while (tokens.length <= page) {
      const i = tokens.length - 1;
      const resp = await call('ReviewService', 'ListContacts', { filter: filterOf(params), pageSize: PAGE_SIZE, pageToken: tokens[i] }, { signal });
      if (!resp.nextPageToken) {
        page = i; // fewer pages than the address says
        break;
      }
      tokens.push(resp.nextPageToken);
    }
  }

  async function load({ quiet = false } = {}) {
    if (!quiet) body.setAttribute('aria-busy', 'true');
    try {
      await walk();
      keepPage();
      const resp = await call('ReviewService', 'ListContacts',
        { filter: filterOf(params), pageSize: PAGE_SIZE, pageToken: tokens[page] }, { signal });
      const contacts = resp.contacts ?? [];
      tokens[page + 1] = resp.nextPageToken ?? '';
      keepPage();
      total = resp.total ?? 0;
      const before = shown;
      shown = new Set(contacts.map((c) => c.record.recordId));
      draw(contacts, quiet ? before : null);
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(body, errorBox(err, () => load()));
      status.textContent = '';
    } finally {
      body.removeAttribute('aria-busy');
    }
  }

  function draw(contacts, before) {
    if (!contacts.length) {
      status.textContent = '';
      const filtered = [...params.keys()].some((k) => k !== 'view' && k !== 'size');
      replace(body, page > 0 ? empty('No more contacts')
        : filtered ? empty('No contacts match', 'Try fewer filters, or a wider date range.')
          : empty('No contacts yet', 'Contacts appear here as soon as a worker’s tablet syncs.'));
      return;
    }
    const more = !!tokens[page + 1];
    status.textContent = page === 0 && !more
      ? `${contacts.length} contact${contacts.length === 1 ? '' : 's'}, newest first`
      : `Showing ${page * PAGE_SIZE + 1}–${page * PAGE_SIZE + contacts.length} of ${total}, newest first${more ? '' : ' (the last page)'}`;
    replace(body,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
        h('caption', { class: 'sr-only' }, 'Contacts, newest first'),
        h('thead', null, h('tr', null, ['When', 'Client', 'Category', ['Mode', 'wide-only'], 'Worker', 'Outcome', 'Review', ['Actions', 'act']]
          .map((c) => Array.isArray(c) ? h('th', { scope: 'col', class: c[1] }, c[0]) : h('th', { scope: 'col' }, c)))),
        h('tbody', null, contacts.map((c) => row(c, before && !before.has(c.record.recordId)))))),
      page === 0 && !more ? null : h('nav', { class: 'pager', 'aria-label': 'Pages' },
        h('button', { type: 'button', class: 'newer', disabled: page === 0, onClick: () => { page--; load(); } }, '← Newer'),
        h('span', null, `Page ${page + 1}`),
        h('button', { type: 'button', class: 'older', disabled: !more, onClick: () => { page++; load(); } }, 'Older →')));
  }

  function announce(n) {
    arrived += n;
    replace(banner,
      h('span', null, `${arrived} new contact${arrived === 1 ? '' : 's'}`),
      page > 0 ? h('button', { type: 'button', onClick: () => { page = 0; load(); } }, 'Show newest') : null,
      h('button', { type: 'button', class: 'quiet', onClick: () => { arrived = 0; banner.hidden = true; } }, 'Dismiss'));
    banner.hidden = false;
  }

  let pending = 0;
  let timer = 0;
  const onChanges = (e) => {
    pending += e.detail.newContacts;
    clearTimeout(timer); // a burst of pages refreshes once
    timer = setTimeout(() => {
      if (pending > 0) announce(pending);
      pending = 0;
      if (page === 0) load({ quiet: true });
    }, 150);
  };
  live.events.addEventListener('changes', onChanges);
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    live.events.removeEventListener('changes', onChanges);
  });
  load();
}
