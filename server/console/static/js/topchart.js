// A client's change from start on the client page: one small chart per TOP
// domain, each item's score at the start TOP and at the latest TOP since
// (the server picks them with syncproto/topchange), with its direction in
// words as well as colour, and "Not answered" where the client did not
// answer. The numbers are also a table, for screen readers.

import { h, s, day, label } from './dom.js';

/** SECTIONS are the TOP's domains, in the profile's order. */
export const SECTIONS = ['substance_use', 'injecting', 'crime', 'health_and_social_functioning'];

const DIRECTION = {
  improved: { text: 'Better', mark: '▲' },
  worsened: { text: 'Worse', mark: '▼' },
  unchanged: { text: 'Same', mark: '=' },
  unknown: { text: 'Cannot compare', mark: '–' },
};

/** direction is an item's movement in words. */
export function direction(movement) {
  return DIRECTION[movement] ?? DIRECTION.unknown;
}

// RATING_MAX is a rating's top score (the days items' is 28, the TOP's period).
const RATING_MAX = 20;

/** scoreText shows a score on its item's scale (its max: 1 for yes/no,
 * RATING_MAX, or 28 days), or "Not answered". */
export function scoreText(answered, score, max) {
  if (!answered) return 'Not answered';
  if (max === 1) return score ? 'Yes' : 'No';
  if (max === RATING_MAX) return `${score} of ${max}`;
  return `${score} day${score === 1 ? '' : 's'} of ${max}`;
}

const dateOf = (d) => (d?.year ? new Date(d.year, d.month - 1, d.day) : null);

// item reads a ReportTOPItem's JSON form (zero values left out).
function item(c) {
  return {
    name: c.item, section: c.section, max: c.maxScore || 28, movement: c.movement || 'unknown',
    start: c.startScore ?? 0, latest: c.latestScore ?? 0, startAnswered: !!c.startAnswered, latestAnswered: !!c.latestAnswered,
  };
}

// plot draws a domain's items as paired bars (start, latest) on each
// item's own scale, with the direction after them.
function plot(title, items) {
  const W = 560, rowH = 34, L = 170, R = 130, barW = W - L - R;
  const g = s('g');
  items.forEach((it, i) => {
    const y0 = 4 + i * rowH;
    const bar = (answered, v, y, cls, what) => answered
      ? s('rect', { x: L, y, width: Math.max(2, (barW * v) / it.max), height: 10, rx: 2, class: cls },
        s('title', null, `${label(it.name)} ${what}: ${scoreText(true, v, it.max)}`))
      : s('text', { x: L, y: y + 9, class: 'tick' }, 'Not answered');
    const d = direction(it.movement);
    g.append(s('text', { x: L - 8, y: y0 + 17, 'text-anchor': 'end', class: 'label' }, label(it.name)),
      s('rect', { x: L, y: y0 + 2, width: barW, height: 24, class: 'track' }),
      bar(it.startAnswered, it.start, y0 + 3, 'start', 'at start'),
      bar(it.latestAnswered, it.latest, y0 + 15, `latest ${it.movement}`, 'latest'),
      s('text', { x: W - R + 10, y: y0 + 17, class: `direction ${it.movement}` }, `${d.mark} ${d.text}`));
  });
  const H = Math.max(items.length * rowH + 6, 40);
  return s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}: start and latest TOP`, class: 'plot' }, g);
}

function domain(section, items) {
  const title = label(section);
  return h('figure', { class: 'chart top-domain', dataset: { section } },
    h('figcaption', null, title),
    plot(title, items),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact' },
      h('caption', { class: 'sr-only' }, `${title}: start and latest TOP`),
      h('thead', null, h('tr', null, ['Item', 'Start', 'Latest', 'Change'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((it) => h('tr', { dataset: { item: it.name, movement: it.movement } },
        h('th', { scope: 'row' }, label(it.name)),
        h('td', { class: ['start', it.startAnswered ? null : 'muted'] }, scoreText(it.startAnswered, it.start, it.max)),
        h('td', { class: ['latest', it.latestAnswered ? null : 'muted'] }, scoreText(it.latestAnswered, it.latest, it.max)),
        h('td', { class: 'movement' }, h('span', { class: `direction ${it.movement}` }, direction(it.movement).text))))))));
}

/** topChange draws a timeline's change from start (GetTimelineResponse's
 * topStart, topLatest and topChange), or a line saying there is none. */
export function topChange(tl) {
  const items = (tl.topChange ?? []).map(item);
  const start = dateOf(tl.topStart), latest = dateOf(tl.topLatest);
  const head = h('h2', null, 'Change from start');
  if (!start || !items.length) {
    return h('section', { class: 'card top-change', id: 'top-change' }, head,
      h('p', { class: 'muted', id: 'top-change-status' }, 'No start TOP recorded yet.'));
  }
  return h('section', { class: 'card top-change', id: 'top-change' }, head,
    h('p', { class: 'muted', id: 'top-change-status' }, `Start TOP ${day(start)} · `,
      latest ? `latest TOP ${day(latest)}` : 'no TOP since the start yet'),
    h('div', { class: 'top-domains' },
      SECTIONS.map((sec) => items.filter((it) => it.section === sec)).filter((its) => its.length)
        .map((its) => domain(its[0].section, its))));
}
