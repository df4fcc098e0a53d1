// A team's outcome movement for a period (ReviewService.GetOutcomeMovement):
// among clients with a start TOP and a later TOP in the period, how their
// answers moved, each figure with the clients behind it (how many moved,
// of how many it is about, and how many were left out unanswered).

import { call } from './api.js';
import * as lookup from './lookup.js';
import { exportCSV, dayStart } from './export.js';
import { h, replace, label, isoDay, errorBox, empty, dateInput } from './dom.js';
import { stackedRows, fit } from './charts.js';

/** figureText says what a figure measures, and of whom. */
export function figureText(f) {
  const item = label(f.item ?? '').toLowerCase();
  switch (f.measure) {
    case 'abstinent': return [`Abstinent from ${item} at review`, `of those using ${item} at start`];
    case 'reduced': return [`Fewer days of ${item}`, `of those with any at start`];
    case 'stopped': return ['Stopped injecting', 'of those injecting at start'];
    case 'resolved': return [`${label(f.item ?? '')} resolved`, 'of those with one at start'];
    case 'increased': return [`More days of ${item}`, 'of all who answered'];
    default: return [`${label(f.measure ?? '')}: ${item}`, ''];
  }
}

function period(params) {
  return {
    from: params.get('from') || isoDay(new Date(Date.now() - 84 * 864e5)),
    to: params.get('to') || isoDay(new Date()),
    team: params.get('team') ?? '',
  };
}

function controls(p, navigate) {
  const team = h('select', { id: 'o-team', name: 'team' }, h('option', { value: '' }, 'All my teams'));
  lookup.getTeams().then((ts) => team.append(...ts.map((t) => h('option', { value: t.teamId, selected: t.teamId === p.team }, t.name)))).catch(() => {});
  const form = h('form', { class: 'filters', 'aria-label': 'Period' },
    h('div', { class: 'field' }, h('label', { for: 'o-from' }, 'TOPs from'), dateInput({ id: 'o-from', name: 'from', value: p.from })),
    h('div', { class: 'field' }, h('label', { for: 'o-to' }, 'To'), dateInput({ id: 'o-to', name: 'to', value: p.to })),
    h('div', { class: 'field' }, h('label', { for: 'o-team' }, 'Team'), team),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = { view: 'outcomes' };
    for (const [k, v] of new FormData(form)) if (v) next[k] = v;
    navigate(next);
  });
  return form;
}

const pct = (n, of) => (of ? Math.round((100 * n) / of) + '%' : '—');

function chart(figures, signal) {
  const spec = {
    title: 'Outcome movement: clients who moved, of those each figure is about',
    parts: [{ key: 'moved', text: 'Moved so', color: '#2f7d5b' }, { key: 'not', text: 'Did not', color: '#a39e8f' }],
    rows: figures.filter((f) => f.base).map((f) => ({ label: figureText(f)[0], values: { moved: f.clients ?? 0, not: (f.base ?? 0) - (f.clients ?? 0) } })),
    rateOf: (v, total) => `${v.moved ?? 0} of ${total}`,
  };
  if (!spec.rows.length) return empty('No figure has a client behind it', 'The clients compared did not answer these items at start.');
  return fit(h('div', { class: 'chart-box' }), (w) => stackedRows(spec, w), signal);
}

function table(figures) {
  const mean = (t, n) => (n ? (t / n).toFixed(1) : '—');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact', id: 'movement' },
    h('caption', { class: 'sr-only' }, 'Outcome movement, figure by figure, with the clients behind each'),
    h('thead', null, h('tr', null, ['Figure', 'Clients', 'Of', 'Rate', 'Not answered', 'Mean at start', 'Mean at review']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, figures.map((f) => {
      const [what, whom] = figureText(f);
      return h('tr', { dataset: { measure: f.measure ?? '', item: f.item ?? '' } },
        h('th', { scope: 'row' }, what, whom ? h('span', { class: 'muted small' }, ' · ' + whom) : null),
        h('td', { class: 'num clients' }, String(f.clients ?? 0)),
        h('td', { class: 'num base' }, String(f.base ?? 0)),
        h('td', { class: 'num rate' }, pct(f.clients ?? 0, f.base ?? 0)),
        h('td', { class: 'num not-answered' }, String(f.notAnswered ?? 0)),
        h('td', { class: 'num' }, mean(f.startTotal ?? 0, f.base ?? 0)),
        h('td', { class: 'num' }, mean(f.reviewTotal ?? 0, f.base ?? 0)));
    }))));
}

/** render draws the outcome movement page. */
export async function render(root, params, { signal, navigate }) {
  if (signal.aborted) return;
  const p = period(params);
  const body = h('div', { id: 'outcomes', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Comparing TOPs…'));
  const exportButton = h('button', { type: 'button', class: 'quiet', id: 'export-outcomes' }, 'Download CSV');
  exportButton.addEventListener('click', () => exportCSV(exportButton, 'outcome-movement', new URLSearchParams(p)));
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Outcome movement (TOP)'), exportButton), controls(p, navigate), body);
  const req = { from: dayStart(p.from), to: dayStart(p.to, 1) };
  if (p.team) req.teamId = p.team;
  try {
    const m = await call('ReviewService', 'GetOutcomeMovement', req, { signal });
    const figures = m.figures ?? [];
    const tile = (v, t, id) => h('div', { class: 'tile', id }, h('p', { class: 'big' }, v), h('p', null, t));
    replace(body,
      h('div', { class: 'tiles' },
        tile(String(m.clients ?? 0), 'clients in reach', 'outcomes-clients'),
        tile(String(m.compared ?? 0), 'with a start TOP and a later one in the period', 'outcomes-compared')),
      m.compared ? h('section', { class: 'card' }, chart(figures, signal), table(figures))
        : empty('No client to compare', 'No client in reach has a start TOP and a later TOP in this period.'),
      h('p', { class: 'muted', id: 'outcomes-definition' }, m.definition ?? ''));
  } catch (err) {
    if (err.name !== 'AbortError') replace(body, errorBox(err, () => render(root, params, { signal, navigate })));
  } finally {
    body.removeAttribute('aria-busy');
  }
}
