// Small SVG charts drawn from data, with a legend and the numbers as a
// table for screen readers and anyone who wants them. Each is drawn for the
// pixel width it gets (see fit), so its text never scales.

import { h, s } from './dom.js';

/** PALETTE colours the contact categories (kept apart for colour-blind eyes). */
export const PALETTE = {
  housing: '#1f5f5b', employment: '#3b82a0', education_training: '#8fb8cf', family: '#c9a227', finance: '#e07b39',
  treatment_attendance: '#7d5ba6', drug_test: '#b5485d', health: '#5b9a68', general: '#a39e8f',
};

function niceMax(v) {
  if (v <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

function legend(items) {
  return h('ul', { class: 'legend' }, items.map(({ text, color }) =>
    h('li', null, s('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, rx: 2, fill: color })), text)));
}

function dataTable(caption, head, rows) {
  return h('details', { class: 'data' }, h('summary', null, 'Show the numbers'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact' }, h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => i === 0 ? h('th', { scope: 'row' }, c) : h('td', { class: 'num' }, c))))))));
}

/**
 * stackedColumns draws columns (one per x) stacked by series:
 * {title, xs: [label], series: [{key, text, color, values: [n]}]}.
 */
export function stackedColumns({ title, xs, series }, width = 720) {
  const W = Math.max(280, width), H = 260, L = 36, B = 28, T = 10, R = 8;
  const totals = xs.map((_, i) => series.reduce((n, ser) => n + (ser.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const band = (W - L - R) / Math.max(xs.length, 1);
  const bw = Math.max(4, Math.min(44, band * 0.7));
  const g = s('g');
  for (let t = 0; t <= 4; t++) {
    const v = (max / 4) * t;
    g.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }),
      s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(Math.round(v))));
  }
  xs.forEach((x, i) => {
    let base = 0;
    const cx = L + band * i + (band - bw) / 2;
    for (const ser of series) {
      const v = ser.values[i] ?? 0;
      if (!v) continue;
      g.append(s('rect', { x: cx, y: y(base + v), width: bw, height: y(base) - y(base + v), fill: ser.color },
        s('title', null, `${x}: ${ser.text} ${v}`)));
      base += v;
    }
    const every = Math.ceil(xs.length / Math.max(2, Math.floor(W / 70)));
    if (i % every === 0) g.append(s('text', { x: cx + bw / 2, y: H - 8, 'text-anchor': 'middle', class: 'tick' }, x));
  });
  return h('figure', { class: 'chart' },
    h('figcaption', null, title),
    s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}: ${totals.reduce((a, b) => a + b, 0)} in all`, class: 'plot' }, g),
    legend(series.map((ser) => ({ text: ser.text, color: ser.color }))),
    dataTable(title, ['Week', ...series.map((ser) => ser.text), 'Total'],
      xs.map((x, i) => [x, ...series.map((ser) => ser.values[i] ?? 0), totals[i]])));
}

/**
 * stackedRows draws one horizontal 100% bar per row, with the first part's
 * share as a label: {title, parts: [{key, text, color}], rows: [{label, values: {key: n}}]}.
 */
export function stackedRows({ title, parts, rows, rateOf }, width = 480) {
  const W = Math.max(280, width), rowH = 30, L = Math.min(160, W * 0.3), R = 84;
  const H = rows.length * rowH + 6;
  const g = s('g');
  rows.forEach((row, i) => {
    const total = parts.reduce((n, p) => n + (row.values[p.key] ?? 0), 0);
    const y0 = 4 + i * rowH;
    g.append(s('text', { x: L - 8, y: y0 + 17, 'text-anchor': 'end', class: 'label' }, row.label));
    let x = L;
    for (const p of parts) {
      const v = row.values[p.key] ?? 0;
      if (!v || !total) continue;
      const w = ((W - L - R) * v) / total;
      g.append(s('rect', { x, y: y0 + 4, width: w, height: rowH - 10, rx: 2, fill: p.color }, s('title', null, `${row.label}: ${p.text} ${v}`)));
      x += w;
    }
    g.append(s('text', { x: W - R + 8, y: y0 + 17, class: 'value' }, total ? rateOf(row.values, total) : 'none'));
  });
  return h('figure', { class: 'chart' },
    h('figcaption', null, title),
    s('svg', { viewBox: `0 0 ${W} ${Math.max(H, 40)}`, width: W, height: Math.max(H, 40), role: 'img', 'aria-label': title, class: 'plot' }, g),
    legend(parts),
    dataTable(title, ['', ...parts.map((p) => p.text), 'Rate'],
      rows.map((r) => {
        const total = parts.reduce((n, p) => n + (r.values[p.key] ?? 0), 0);
        return [r.label, ...parts.map((p) => r.values[p.key] ?? 0), total ? rateOf(r.values, total) : '—'];
      })));
}

/** bars draws labelled horizontal bars: {title, color, rows: [{label, value}]}. */
export function bars({ title, color, rows, unit = '' }, width = 720) {
  const W = Math.max(280, width), rowH = 28, L = Math.min(340, W * 0.45), R = 48;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const g = s('g');
  rows.forEach((r, i) => {
    const y0 = 4 + i * rowH;
    const w = Math.max(2, ((W - L - R) * r.value) / max);
    g.append(s('text', { x: L - 8, y: y0 + 16, 'text-anchor': 'end', class: 'label' }, r.label),
      s('rect', { x: L, y: y0 + 4, width: w, height: rowH - 10, rx: 2, fill: r.color ?? color }, s('title', null, `${r.label}: ${r.value}${unit}`)),
      s('text', { x: L + w + 6, y: y0 + 16, class: 'value' }, String(r.value)));
  });
  return h('figure', { class: 'chart' },
    h('figcaption', null, title),
    s('svg', { viewBox: `0 0 ${W} ${Math.max(rows.length * rowH + 6, 40)}`, width: W, height: Math.max(rows.length * rowH + 6, 40), role: 'img', 'aria-label': title, class: 'plot' }, g),
    dataTable(title, ['', 'Clients'], rows.map((r) => [r.label, r.value])));
}

/**
 * fit draws a chart into box at box's width, and again when that changes
 * (a rotated tablet, a resized window). draw(width) returns the element.
 */
export function fit(box, draw, signal) {
  let drawn = 0;
  const ro = new ResizeObserver(() => {
    const w = Math.floor(box.clientWidth);
    if (!w || Math.abs(w - drawn) < 8) return;
    drawn = w;
    box.replaceChildren(draw(w));
  });
  ro.observe(box);
  signal?.addEventListener('abort', () => ro.disconnect());
  return box;
}
