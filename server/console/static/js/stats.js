// Statistics for a period: weekly contacts by category, treatment
// attendance per worker, housing and employment movements, quiet clients.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { exportCSV, dayStart } from './export.js';
import { h, replace, link, label, isoDate, isoDay, day, errorBox, empty, dateInput } from './dom.js';
import { CATEGORIES } from './schema.js';
import { PALETTE, stackedColumns, stackedRows, bars, fit } from './charts.js';

// Rough order from worse to better, to colour movements; others are neutral.
const HOUSING_RANK = ['rough_sleeping', 'night_shelter', 'hostel', 'temporary_accommodation', 'supported_housing',
  'staying_with_family_or_friends', 'settled_tenancy', 'owner_occupier'];
const ETE_RANK = ['unemployed_not_seeking', 'unemployed_seeking', 'volunteering', 'in_training', 'in_education',
  'employed_part_time', 'employed_full_time'];

function direction(rank, from, to) {
  const a = rank.indexOf(from), b = rank.indexOf(to);
  if (a < 0 || b < 0 || a === b) return '#a39e8f';
  return b > a ? '#2f7d5b' : '#c2543f';
}

/** period reads the page's period from its address, with defaults (12 weeks). */
function period(params) {
  return {
    from: params.get('from') || isoDay(new Date(Date.now() - 84 * 864e5)),
    to: params.get('to') || isoDay(new Date()),
    team: params.get('team') ?? '',
    quiet: params.get('quiet') || '14',
  };
}

function controls(params, navigate) {
  const p = period(params);
  const get = (k) => p[k];
  const team = h('select', { id: 's-team', name: 'team' }, h('option', { value: '' }, 'All my teams'));
  lookup.getTeams().then((ts) => team.append(...ts.map((t) => h('option', { value: t.teamId, selected: t.teamId === get('team') }, t.name)))).catch(() => {});
  const form = h('form', { class: 'filters', 'aria-label': 'Period' },
    h('div', { class: 'field' }, h('label', { for: 's-from' }, 'From'), dateInput({ id: 's-from', name: 'from', value: get('from') })),
    h('div', { class: 'field' }, h('label', { for: 's-to' }, 'To'), dateInput({ id: 's-to', name: 'to', value: get('to') })),
    h('div', { class: 'field' }, h('label', { for: 's-team' }, 'Team'), team),
    h('div', { class: 'field' }, h('label', { for: 's-quiet' }, 'Quiet after (days)'),
      h('input', { type: 'number', id: 's-quiet', name: 'quiet', min: '1', max: '365', value: get('quiet') })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = { view: 'stats' };
    for (const [k, v] of new FormData(form)) if (v) next[k] = v;
    navigate(next);
  });
  return form;
}

function tiles(st) {
  const all = (st.appointments ?? []).find((a) => a.group === 'all') ?? {};
  const tile = (v, t, id) => h('div', { class: 'tile', id }, h('p', { class: 'big' }, v), h('p', null, t));
  return h('div', { class: 'tiles' },
    tile(String(st.contacts ?? 0), 'contacts in the period'),
    tile(String(st.clients ?? 0), 'clients in scope'),
    tile(all.rateBase ? (all.attendanceRatePercent ?? 0) + '%' : '—', 'attendance rate (appointments)', 'attendance-rate'),
    tile(String((st.quiet ?? []).length), 'clients not seen recently'));
}

// The appointment outcomes, per worker, team and type. The rate is the
// server's (one definition, stated under the table and in the CSV).
const OUTCOMES = [['attended', 'Attended'], ['didNotAttend', 'Did not attend'], ['cancelledByClient', 'Client cancelled'],
  ['cancelledByService', 'Service cancelled'], ['rescheduled', 'Re\u00adscheduled'], ['booked', 'Still booked']];

function appointments(st) {
  const rows = st.appointments ?? [];
  const who = (a) => ({ all: 'All appointments', worker: a.workerName || 'Unknown worker', team: a.teamName || 'Team',
    appointment_type: label(a.appointmentType || 'other') })[a.group] ?? a.group;
  const group = { worker: 'worker', team: 'team', appointment_type: 'type' };
  const total = rows.find((a) => a.group === 'all');
  const reasons = (total?.dnaReasons ?? []).map((r) => `${label(r.reason || 'none_given')}: ${r.count ?? 0}`).join(', ');
  return h('div', null,
    h('h2', null, 'Appointments'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact', id: 'appointments' },
      h('caption', { class: 'sr-only' }, 'Appointments that started in the period, by outcome'),
      h('thead', null, h('tr', null, ['', ...OUTCOMES.map((o) => o[1]), 'Rate']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((a) => h('tr', { 'data-group': a.group },
        h('th', { scope: 'row' }, who(a), group[a.group] ? h('span', { class: 'muted small' }, ' · ' + group[a.group]) : null),
        OUTCOMES.map(([k]) => h('td', { class: 'num' }, String(a[k] ?? 0))),
        h('td', { class: 'num rate' }, a.rateBase ? `${a.attendanceRatePercent ?? 0}%` : '—')))))),
    reasons ? h('p', { id: 'dna-reasons' }, 'Reasons for not attending: ' + reasons) : null,
    h('p', { class: 'muted', id: 'attendance-definition' }, st.attendanceDefinition ?? ''));
}

// mondays lists the weeks (their Mondays, UTC, as YYYY-MM-DD) that
// overlap the period, so weeks with no contacts show as gaps.
function mondays(from, to) {
  const t = new Date(from);
  t.setUTCHours(0, 0, 0, 0);
  t.setUTCDate(t.getUTCDate() - ((t.getUTCDay() + 6) % 7));
  const out = [];
  for (const end = new Date(to); t < end && out.length < 200; t.setUTCDate(t.getUTCDate() + 7)) out.push(t.toISOString().slice(0, 10));
  return out;
}

function weekly(st, req, signal) {
  if (!(st.weekly ?? []).length) return empty('No contacts in this period');
  const weeks = [...new Set([...mondays(req.from, req.to), ...st.weekly.map((w) => isoDate(w.week))])].sort();
  const cats = CATEGORIES.filter((c) => (st.weekly ?? []).some((w) => w.category === c));
  const series = cats.map((c) => ({
    key: c, text: label(c), color: PALETTE[c] ?? '#888',
    values: weeks.map((wk) => (st.weekly ?? []).filter((w) => w.category === c && isoDate(w.week) === wk).reduce((n, w) => n + (w.contacts ?? 0), 0)),
  }));
  const spec = { title: 'Contacts per week, by category', xs: weeks.map((w) => day(w + 'T00:00:00', true)), series };
  return fit(h('div', { class: 'chart-box' }), (w) => stackedColumns(spec, w), signal);
}

// Attendance as workers recorded it on treatment attendance contacts: a
// different count from the appointments above, so it shows counts only
// and no rate.
function attendance(st, signal) {
  const rows = (st.attendance ?? []).filter((a) => a.workerId);
  if (!rows.length) return empty('No attendance recorded on contacts', 'Treatment attendance contacts appear here per worker.');
  const spec = {
    title: 'Attendance recorded on treatment contacts, per worker (not the attendance rate)',
    parts: [{ key: 'attended', text: 'Attended', color: '#2f7d5b' }, { key: 'rescheduled', text: 'Rescheduled', color: '#d9a441' },
      { key: 'missed', text: 'Did not attend', color: '#c2543f' }],
    rows: rows.map((a) => ({ label: a.workerName || 'Unknown worker', values: a })),
    rateOf: (v, total) => `${total} recorded`,
  };
  return fit(h('div', { class: 'chart-box' }), (w) => stackedRows(spec, w), signal);
}

function movements(title, rows, rank, signal) {
  if (!rows?.length) return h('figure', { class: 'chart' }, h('figcaption', null, title), h('p', { class: 'muted' }, 'No changes recorded in this period.'));
  const spec = {
    title,
    rows: [...rows].sort((a, b) => (b.clients ?? 0) - (a.clients ?? 0))
      .map((m) => ({ label: `${label(m.from)} → ${label(m.to)}`, value: m.clients ?? 0, color: direction(rank, m.from, m.to) })),
  };
  return fit(h('div', { class: 'chart-box' }), (w) => bars(spec, w), signal);
}

function clientTable(id, caption, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id },
    h('caption', null, caption),
    h('thead', null, h('tr', null, ['Client', 'Last contact', 'Days'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((q) => h('tr', null,
      h('td', null, link({ view: 'client', client: q.clientId }, q.clientName || 'Client')),
      h('td', null, q.lastContact ? day(q.lastContact) : 'Never'),
      h('td', { class: 'num' }, String(q.days ?? 0)))))));
}

function quiet(st) {
  const rows = st.quiet ?? [];
  const unbooked = st.unbooked ?? [];
  return h('div', null,
    rows.length ? clientTable('quiet', 'Clients not seen recently, longest first', rows) : empty('Every client has been seen recently'),
    unbooked.length ? clientTable('unbooked', 'Clients with no appointment booked', unbooked) : empty('Every client has an appointment booked'));
}

/** render draws the statistics page. */
export async function render(root, params, { signal, navigate }) {
  if (signal.aborted) return; // the person has moved on
  const body = h('div', { id: 'stats', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Counting…'));
  const exportButton = h('button', { type: 'button', class: 'quiet', id: 'export-stats' }, 'Download CSV');
  const form = controls(params, navigate);
  const p = period(params);
  exportButton.addEventListener('click', () => exportCSV(exportButton, 'statistics', new URLSearchParams(p)));
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Statistics'), exportButton), form, body);
  const req = { from: dayStart(p.from), to: dayStart(p.to, 1), noContactDays: Number(p.quiet) || 14 };
  if (p.team) req.teamId = p.team;
  try {
    const st = await call('ReviewService', 'GetStatistics', req, { signal });
    replace(body,
      tiles(st),
      h('section', { class: 'card' }, appointments(st)),
      h('section', { class: 'card' }, weekly(st, req, signal)),
      h('div', { class: 'split even' },
        h('section', { class: 'card' }, attendance(st, signal)),
        h('section', { class: 'card' }, h('h2', null, 'Quiet clients'), quiet(st))),
      h('section', { class: 'card' }, movements('Housing movements (clients)', st.housing, HOUSING_RANK, signal)),
      h('section', { class: 'card' }, movements('Employment, education and training movements (clients)', st.employment, ETE_RANK, signal)));
  } catch (err) {
    if (err.name !== 'AbortError') replace(body, errorBox(err, () => render(root, params, { signal, navigate })));
  } finally {
    body.removeAttribute('aria-busy');
  }
}
