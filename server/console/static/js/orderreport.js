// The court order review report (view=orderreport): for one of a client's
// court orders (a DRR and the like) and a period, the appointments and
// their attendance, the drug tests, the TOP change from start and the
// keyworker's and provider's comments, as ReviewService.GetOrderReport
// works them out; printable, and downloadable as the server's HTML
// document. The comments are typed here and never stored.

import { call, save } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, label, when, ukDate, isoDate, isoDay, parseDay, dateInput, field, fieldText, clientName, errorBox, empty, busy } from './dom.js';

const orderName = (r) => `${fieldText(r, 'kind')} from ${fieldText(r, 'start_date')}`;

/** ordersSection lists a client's live court orders on the client page,
 * each with a link to its review report. */
export function ordersSection(records, clientId) {
  const orders = records.filter((tr) => tr.record.recordType === 'court_order' && !field(tr.record, 'deleted'));
  if (!orders.length) return null;
  return h('section', { class: 'records', id: 'client-orders' }, h('h2', null, `Court orders (${orders.length})`),
    h('ul', { class: 'plain' }, orders.map((tr) => h('li', { dataset: { record: tr.record.recordId } }, orderName(tr.record), ' · ',
      link({ view: 'orderreport', client: clientId, order: tr.record.recordId }, 'Review report')))));
}

function table(cls, caption, cols, rows, none) {
  return h('div', { class: 'table-wrap' }, h('table', { class: ['grid', cls] },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: String(cols.length), class: 'muted' }, none)))));
}

function attendance(a = {}, definition = '') {
  const n = (k) => a[k] ?? 0;
  return [h('p', { id: 'report-attendance' },
    `${n('attended')} attended, ${n('didNotAttend')} did not attend, ${n('cancelledByClient')} cancelled by the client, `,
    `${n('cancelledByService')} cancelled by the service, ${n('rescheduled')} rescheduled, ${n('booked')} booked. `,
    n('rateBase') ? `Attendance rate ${n('attendanceRatePercent')}% of ${n('rateBase')}.` : 'No appointments to rate.'),
  h('p', { class: 'muted small' }, definition)];
}

function topChange(r) {
  const items = r.topChange ?? [];
  if (!items.length) return h('p', { id: 'report-top' }, 'No start TOP by the end of the period.');
  const score = (answered, v) => (answered ? String(v ?? 0) : '–');
  return [h('p', { id: 'report-top' }, `Start TOP ${ukDate(r.topStart)}; `, r.topLatest ? `latest ${ukDate(r.topLatest)}.` : 'no later TOP yet.'),
    table('report-top', 'TOP change from start', ['Item', 'Start', 'Latest', 'Change'], items.map((it) =>
      h('tr', { dataset: { item: it.item, movement: it.movement } }, h('td', null, label(it.item)),
        h('td', null, score(it.startAnswered, it.startScore)), h('td', null, score(it.latestAnswered, it.latestScore)),
        h('td', null, label(it.movement)))), 'No TOP items.')];
}

/** report draws a GetOrderReport response. */
function report(r) {
  const o = r.order;
  return h('article', { class: 'card', id: 'order-report' },
    h('h2', null, 'Court order review report'),
    h('dl', { class: 'facts' }, [['Client', r.clientName || '—'], ['Order', fieldText(o, 'kind')], ['Court', fieldText(o, 'court')],
      ['Start', fieldText(o, 'start_date')], ['End', fieldText(o, 'end_date')], ['Testing', fieldText(o, 'testing_frequency')],
      ['Responsible officer', fieldText(o, 'responsible_officer')], ['Period', `${ukDate(r.from)} to ${ukDate(r.to)}`]]
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    h('h3', null, 'Attendance'), attendance(r.attendance, r.attendanceDefinition),
    table('report-appointments', 'Appointments in the period', ['When', 'Type', 'Outcome', 'Reason'], (r.appointments ?? []).map((a) =>
      h('tr', { dataset: { id: a.appointmentId } }, h('td', { class: 'nowrap' }, when(a.startsAt)),
        h('td', null, label(a.appointmentType), a.hearingOfOrder ? ' (this order)' : ''),
        h('td', null, label(a.status)), h('td', null, a.dnaReason ? label(a.dnaReason) : ''))), 'No appointments in the period.'),
    h('h3', null, 'Drug tests'),
    table('report-tests', 'Drug tests in the period', ['When', 'Result', 'Substances'], (r.drugTests ?? []).map((t) =>
      h('tr', { dataset: { id: t.contactId } }, h('td', { class: 'nowrap' }, when(t.occurredAt)),
        h('td', null, t.testResult ? label(t.testResult) : 'Not recorded'),
        h('td', null, (t.substances ?? []).map(label).join(', ')))), 'No drug tests in the period.'),
    h('h3', null, 'Treatment Outcomes Profile: change from start'), topChange(r),
    h('h3', null, 'Keyworker\u2019s comments'), h('div', { class: 'report-comment', id: 'report-keyworker-text' }, r.keyworkerComment ?? ''),
    h('h3', null, 'Treatment provider\u2019s comments'), h('div', { class: 'report-comment', id: 'report-provider-text' }, r.providerComment ?? ''));
}

function form(orders, params, onSubmit) {
  const chosen = params.get('order') ?? orders[0]?.record.recordId;
  const order = orders.find((tr) => tr.record.recordId === chosen) ?? orders[0];
  const start = field(order?.record, 'start_date')?.dateValue;
  const select = h('select', { id: 'report-order', name: 'order', required: true },
    orders.map((tr) => h('option', { value: tr.record.recordId, selected: tr === order }, orderName(tr.record))));
  const text = (id, name, title) => h('div', { class: 'field wide' }, h('label', { for: id }, title),
    h('textarea', { id, name, maxlength: '10000', rows: '4' }));
  const f = h('form', { class: 'filters report-form', 'aria-label': 'Report' },
    h('div', { class: 'field order' }, h('label', { for: 'report-order' }, 'Order'), select),
    h('div', { class: 'field' }, h('label', { for: 'report-from' }, 'From'),
      dateInput({ id: 'report-from', name: 'from', required: true, value: params.get('from') ?? isoDate(start) })),
    h('div', { class: 'field' }, h('label', { for: 'report-to' }, 'To'),
      dateInput({ id: 'report-to', name: 'to', required: true, value: params.get('to') ?? isoDay(new Date()) })),
    text('report-keyworker', 'keyworker', 'Keyworker\u2019s comments'),
    text('report-provider', 'provider', 'Treatment provider\u2019s comments'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'report-show', class: 'primary' }, 'Show the report')));
  // Another order starts the period at its start, unless a day was typed.
  let typed = params.has('from');
  f.querySelector('#report-from').addEventListener('input', () => { typed = true; });
  select.addEventListener('change', () => {
    const tr = orders.find((o) => o.record.recordId === select.value);
    if (!typed && tr) f.querySelector('#report-from').value = isoDate(field(tr.record, 'start_date')?.dateValue);
  });
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (f.reportValidity()) onSubmit(f);
  });
  return f;
}

/** render draws the report page of a client's court order. */
export async function render(root, params, { signal }) {
  if (signal.aborted) return;
  const clientId = params.get('client') ?? '';
  replace(root, h('p', { class: 'loading' }, 'Loading the client\u2019s orders…'));
  let resp;
  try {
    resp = await call('ReviewService', 'GetTimeline', { clientId }, { signal });
  } catch (err) {
    if (err.name !== 'AbortError') replace(root, h('h1', null, 'Court order review report'), errorBox(err, () => render(root, params, { signal })));
    return;
  }
  const records = resp.records ?? [];
  const client = records.find((r) => r.record.recordType === 'client');
  if (client) lookup.clients.set(clientId, clientName(client.record));
  const orders = records.filter((tr) => tr.record.recordType === 'court_order' && !field(tr.record, 'deleted'));
  const head = h('div', { class: 'page-head' },
    h('div', null, h('p', { class: 'eyebrow' }, 'Court order review report'), h('h1', null, client ? clientName(client.record) : 'Client')),
    link({ view: 'client', client: clientId }, 'Back to the client'));
  if (!orders.length) {
    replace(root, head, empty('No court orders', 'Orders recorded on the tablet for this client appear here.'));
    return;
  }
  const out = h('div', { id: 'report-out', 'aria-live': 'polite' });
  const show = async (f) => {
    const data = new FormData(f);
    const from = parseDay(data.get('from')), to = parseDay(data.get('to'));
    const req = { clientId, orderId: data.get('order'), from, to, keyworkerComment: data.get('keyworker'),
      providerComment: data.get('provider'), html: true };
    await busy(f.querySelector('#report-show'), async () => {
      try {
        const r = await call('ReviewService', 'GetOrderReport', req, { signal });
        const file = `order-report-${isoDate(from)}-to-${isoDate(to)}.html`;
        replace(out,
          h('div', { class: 'actions report-actions' },
            h('button', { type: 'button', id: 'report-print', class: 'primary', onClick: () => window.print() }, 'Print'),
            h('button', { type: 'button', id: 'report-download',
              onClick: () => save(new Blob([r.html ?? ''], { type: 'text/html' }), file) }, 'Download (HTML)')),
          report(r));
      } catch (err) {
        if (err.name !== 'AbortError') replace(out, errorBox(err));
      }
    });
  };
  replace(root, head, form(orders, params, show), out);
}
