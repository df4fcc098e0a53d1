// The audit trail (administrators): every entry about one client, or by
// one user, oldest first, a page at a time, and the whole of it as CSV.
// Entries hold ids, counts and times only; names come from the lookups.

import { call, save } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, label, when, errorBox, empty, busy, toast, short } from './dom.js';

const PAGE = 200;

/** COLUMNS are the CSV's columns, as `throughcare audit --csv` writes them. */
export const COLUMNS = ['seq', 'at', 'action', 'user_id', 'role', 'device_id', 'address', 'client_ids',
  'record_id', 'team_id', 'count', 'from', 'to', 'prev_hash', 'hash'];

function row(e) {
  return [e.seq, e.at ?? '', e.action, e.userId ?? '', e.role ?? '', e.deviceId ?? '', e.address ?? '',
    (e.clientIds ?? []).join(' '), e.recordId ?? '', e.teamId ?? '', e.count ?? '0', e.from ?? '', e.to ?? '',
    e.prevHash ?? '', e.hash ?? ''];
}

// cell quotes a CSV field when it needs it. The fields are ids, numbers and
// times, so none starts with a formula character.
function cell(v) {
  const s = String(v ?? '');
  return /[",\r\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
}

/** toCSV renders entries as CSV with a header row. */
export function toCSV(entries) {
  return [COLUMNS, ...entries.map(row)].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

// subject is what the page's address asks for: {clientId} or {userId}.
function subject(params) {
  if (params.get('client')) return { clientId: params.get('client') };
  if (params.get('user')) return { userId: params.get('user') };
  return null;
}

function form(params, navigate) {
  const kind = h('select', { id: 'a-kind', name: 'kind' },
    h('option', { value: 'client', selected: !params.get('user') }, 'About a client'),
    h('option', { value: 'user', selected: !!params.get('user') }, 'By a user'));
  const id = h('input', { id: 'a-id', name: 'id', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false',
    value: params.get('client') || params.get('user') || '', placeholder: 'Client or user id' });
  const f = h('form', { class: 'filters', 'aria-label': 'Whose audit trail' },
    h('div', { class: 'field' }, h('label', { for: 'a-kind' }, 'Entries'), kind),
    h('div', { class: 'field' }, h('label', { for: 'a-id' }, 'Id'), id),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show')));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate({ view: 'audit', [kind.value]: id.value.trim() });
  });
  return f;
}

function entryRow(e, people) {
  const who = people.get(e.userId) ?? short(e.userId);
  const clients = (e.clientIds ?? []).map((c, i) => [i ? ', ' : '', link({ view: 'client', client: c }, lookup.clients.get(c) ?? short(c))]);
  return h('tr', { dataset: { seq: e.seq, action: e.action } },
    h('td', { class: 'num' }, e.seq),
    h('td', null, when(e.at)),
    h('td', null, label(e.action)),
    h('td', null, who, h('span', { class: 'muted small' }, ' · ', label(e.role))),
    h('td', { class: 'wide-only' }, short(e.deviceId), e.address ? h('span', { class: 'muted small' }, ' · ', e.address) : null),
    h('td', null, clients.length ? clients : '—'),
    h('td', { class: 'wide-only' }, short(e.recordId)),
    h('td', { class: 'num' }, e.count ?? '0'));
}

async function all(subj) {
  const out = [];
  let after = 0;
  for (;;) {
    const resp = await call('AdminService', 'ListAudit', { ...subj, after: String(after), limit: 5000 });
    out.push(...(resp.entries ?? []));
    if (!resp.nextAfter || resp.nextAfter === '0') return out;
    after = resp.nextAfter;
  }
}

/** render shows the audit screen. */
export async function render(root, params, { signal, navigate }) {
  if (signal.aborted) return;
  const subj = subject(params);
  const list = h('div', { id: 'audit', 'aria-busy': subj ? 'true' : null });
  const csv = h('button', { type: 'button', id: 'audit-csv', disabled: !subj }, 'Download CSV');
  csv.addEventListener('click', () => busy(csv, async () => {
    try {
      const entries = await all(subj);
      const { name, size } = save(new Blob([toCSV(entries)], { type: 'text/csv' }), `throughcare-audit-${subj.clientId ?? subj.userId}.csv`);
      toast(`Saved ${name} (${Math.max(1, Math.round(size / 1024))} KB)`);
    } catch (err) {
      toast(`${err.title ?? 'Download failed'}: ${err.message}`, 'error');
    }
  }));
  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Audit trail'), h('div', { class: 'actions' }, csv)),
    h('p', { class: 'lede' }, 'Who signed in, synced, viewed, exported or changed what, and from where. Entries cannot be changed; each holds the hash of the one before.'),
    form(params, navigate), list);
  if (!subj) {
    replace(list, empty('Choose a client or a user', 'Paste the id of a client or of a user of your area.'));
    return;
  }
  const people = new Map((await lookup.getUsers().catch(() => [])).map((u) => [u.userId, u.displayName]));
  let after = 0;
  const shown = [];
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const resp = await call('AdminService', 'ListAudit', { ...subj, after: String(after), limit: PAGE }, { signal });
      shown.push(...(resp.entries ?? []));
      after = resp.nextAfter && resp.nextAfter !== '0' ? resp.nextAfter : 0;
      replace(list, shown.length
        ? [h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
          h('caption', { class: 'sr-only' }, 'Audit entries, oldest first'),
          h('thead', null, h('tr', null, ['#', 'When', 'What', 'Who', ['Device', 'wide-only'], 'Clients', ['Record', 'wide-only'], 'Count']
            .map((c) => Array.isArray(c) ? h('th', { scope: 'col', class: c[1] }, c[0]) : h('th', { scope: 'col' }, c)))),
          h('tbody', null, shown.map((e) => entryRow(e, people))))),
          after ? h('nav', { class: 'pager', 'aria-label': 'More' }, h('button', { type: 'button', class: 'older', onClick: load }, 'Show more')) : null]
        : empty('No entries', 'Nothing has been recorded about this client or by this user yet.'));
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, load));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  load();
}
