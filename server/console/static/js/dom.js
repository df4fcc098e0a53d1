// DOM helpers. The page runs under Trusted Types with no policy, so markup
// is never built from strings: everything goes through h() and text nodes.

import { ENUMS } from './schema.js';

const SVG = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** h('button', {type: 'button', onClick}, 'Save') makes an HTML element. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** s('rect', {x, y}) makes an SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

/** append adds children (nodes, strings, numbers, nested arrays; nulls skipped). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** replace empties el and fills it with children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** link is an in-app link handled by the router (see app.js). */
export function link(params, ...children) {
  return h('a', { href: '/?' + new URLSearchParams(params), 'data-route': '' }, ...children);
}

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' });
const shortDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' });

/** when formats an RFC 3339 string or Date ("3 Mar 2026, 14:05"). */
export function when(v) {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? '—' : dateTime.format(d);
}

/** day formats a date ("3 Mar 2026"); short gives "3 Mar". */
export function day(v, short = false) {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(v);
  return (short ? shortDate : dateOnly).format(d);
}

const timeOnly = new Intl.DateTimeFormat('en-GB', { timeStyle: 'short' });

/** clock formats the time of day ("14:05"). */
export function clock(v) {
  return v ? timeOnly.format(v instanceof Date ? v : new Date(v)) : '';
}

/** stampTime turns an HLC stamp ({time: "<ms<<16|counter>"}) into a Date. */
export function stampTime(stamp) {
  if (!stamp?.time) return null;
  return new Date(Number(BigInt(stamp.time) >> 16n));
}

const words = { drr: 'DRR', dtto: 'DTTO', ete: 'ETE', dna: 'DNA' };

/** label turns a schema value ("treatment_attendance") into words. */
export function label(v) {
  if (v == null || v === '') return '—';
  const parts = String(v).split('_').map((w) => words[w] ?? w);
  const first = parts[0];
  parts[0] = first === first.toUpperCase() ? first : first[0].toUpperCase() + first.slice(1);
  return parts.join(' ');
}

/** valueText renders a proto Value (JSON form) for people; enumerated
 * fields (see schema.js, generated from the registry) show their value as words. */
export function valueText(v, fieldName) {
  if (!v) return '—';
  if ('stringValue' in v) return ENUMS[fieldName] ? label(v.stringValue) : v.stringValue;
  if ('integerValue' in v) return String(v.integerValue);
  if ('decimalValue' in v) return v.decimalValue;
  if ('boolValue' in v) return v.boolValue ? 'Yes' : 'No';
  if ('timestampValue' in v) return when(v.timestampValue);
  if ('dateValue' in v) return ukDate(v.dateValue);
  if ('setAdd' in v) return '+ ' + label(v.setAdd.element);
  if ('setRemove' in v) return '− ' + label(v.setRemove.element);
  if ('setState' in v) {
    const on = (v.setState.elements ?? []).filter((e) => (e.adds ?? []).length > 0).map((e) => label(e.element));
    return on.length ? on.join(', ') : 'None';
  }
  if ('tombstone' in v) return 'Deleted' + (v.tombstone.reason ? ' (' + label(v.tombstone.reason) + ')' : '');
  return '—';
}

/** isoDate formats a proto Date as YYYY-MM-DD. */
export function isoDate(d) {
  if (!d) return '';
  const p = (n, w = 2) => String(n ?? 0).padStart(w, '0');
  return `${p(d.year, 4)}-${p(d.month)}-${p(d.day)}`;
}

/** isoDay formats a Date's local calendar day as YYYY-MM-DD. */
export function isoDay(t) {
  return isoDate({ year: t.getFullYear(), month: t.getMonth() + 1, day: t.getDate() });
}

/** parseDay reads "2026-12-07" as a proto Date ({year, month, day}), or
 * null unless it is exactly YYYY-MM-DD and a real day (no 30 February). */
export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text ?? '').trim());
  if (!m) return null;
  const [year, month, day] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(year, month - 1, day));
  return t.getUTCFullYear() === year && t.getUTCMonth() === month - 1 && t.getUTCDate() === day ? { year, month, day } : null;
}

/** parseDayTime reads "2026-12-07 14:05" (local time) as a Date, or null. */
export function parseDayTime(text) {
  const m = /^(\S+)[ T](\d{2}):(\d{2})$/.exec(String(text ?? '').trim());
  const d = m && parseDay(m[1]);
  const [hh, mm] = m ? [Number(m[2]), Number(m[3])] : [];
  return d && hh < 24 && mm < 60 ? new Date(d.year, d.month - 1, d.day, hh, mm) : null;
}

// Date entry is typed as ISO text, never <input type=date>: Chromium draws
// those in the browser's own locale whatever the page's lang (mm/dd/yyyy
// in an en-US browser), and 02/04 reads two ways in a British service.
function typedDate(attrs, { form, example, parse, pattern }) {
  const el = h('input', { ...attrs, type: 'text', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false',
    pattern, placeholder: form, maxlength: String(example.length + 2), title: `${form}, for example ${example}`, 'data-date-input': '' });
  const check = () => el.setCustomValidity(el.value.trim() && !parse(el.value) ? `Enter a real date as ${form}, for example ${example}` : '');
  el.addEventListener('input', check);
  el.addEventListener('change', check);
  check();
  return el;
}

/** dateInput is a text box for a day typed as YYYY-MM-DD ("2026-12-07"),
 * refused by the form unless it is a real day; read it with parseDay. */
export function dateInput(attrs) {
  return typedDate(attrs, { form: 'yyyy-mm-dd', example: '2026-12-07', parse: parseDay, pattern: '\\s*\\d{4}-\\d{2}-\\d{2}\\s*' });
}

/** dateTimeInput is a text box for a local time typed as YYYY-MM-DD HH:MM;
 * read it with parseDayTime. */
export function dateTimeInput(attrs) {
  return typedDate(attrs, { form: 'yyyy-mm-dd hh:mm', example: '2026-12-07 14:05', parse: parseDayTime,
    pattern: '\\s*\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}\\s*' });
}

const calendarDay = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

/** ukDate formats a proto Date for the UK ("31 Jan 1990"), whatever the
 * browser's time zone. */
export function ukDate(d) {
  if (!d?.year) return '—';
  return calendarDay.format(new Date(Date.UTC(d.year, (d.month ?? 1) - 1, d.day ?? 1)));
}

/** field returns a record's field value (proto Value) by name. */
export function field(record, name) {
  return record?.fields?.find((f) => f.field === name)?.value;
}

/** fieldText is valueText(field(record, name)). */
export function fieldText(record, name) {
  return valueText(field(record, name), name);
}

/** clientName reads "Given Family" from a client record. */
export function clientName(record) {
  const g = field(record, 'given_name')?.stringValue ?? '';
  const f = field(record, 'family_name')?.stringValue ?? '';
  return `${g} ${f}`.trim() || 'Unnamed client';
}

/** short abbreviates an id for display ("0193ab…"). */
export function short(id) {
  if (!id) return '—';
  return id.length > 9 ? id.slice(0, 8) + '…' : id;
}

/** toast shows a short message that goes away by itself. */
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: ['toast', kind] }, message);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

/** errorBox shows an error with its code, for empty/error states. */
export function errorBox(err, retry) {
  return h('div', { class: 'state error', role: 'alert' },
    h('p', { class: 'title' }, err.title ?? 'Something went wrong'),
    h('p', null, err.message ?? String(err)),
    err.code ? h('p', { class: 'code' }, 'Code: ' + err.code + (err.requestId ? ' · request ' + err.requestId : '')) : null,
    retry ? h('button', { type: 'button', onClick: retry }, 'Try again') : null);
}

/** empty is a calm "nothing here" state. */
export function empty(title, text) {
  return h('div', { class: 'state empty' }, h('p', { class: 'title' }, title), text ? h('p', null, text) : null);
}

/** busy disables a button while fn runs. */
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = was;
    button.removeAttribute('aria-busy');
  }
}
