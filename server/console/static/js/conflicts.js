// Open conflicts (two devices edited one field concurrently) and their
// resolution: keep the value shown, take the other, or write a new one.

import { call } from './api.js';
import * as navcount from './navcount.js';
import * as lookup from './lookup.js';
import { h, replace, link, label, valueText, stampTime, when, errorBox, empty, busy, toast, short, dateInput, dateTimeInput, parseDay, parseDayTime } from './dom.js';
import { enumValues } from './schema.js';
import { who } from './timeline.js';

/** input builds a control for a new value of the conflict's type. */
function valueInput(id, recordType, fieldName, sample) {
  const values = enumValues(recordType, fieldName);
  const kind = Object.keys(sample ?? { stringValue: '' })[0];
  if (values && kind === 'stringValue') {
    return { el: h('select', { id, required: true }, h('option', { value: '' }, 'Choose…'), values.map((v) => h('option', { value: v }, label(v)))),
      read: (el) => ({ stringValue: el.value }) };
  }
  switch (kind) {
    case 'integerValue':
      return { el: h('input', { id, type: 'number', step: '1', required: true }), read: (el) => ({ integerValue: String(parseInt(el.value, 10)) }) };
    case 'boolValue':
      return { el: h('select', { id }, h('option', { value: 'true' }, 'Yes'), h('option', { value: 'false' }, 'No')), read: (el) => ({ boolValue: el.value === 'true' }) };
    case 'dateValue':
      return { el: dateInput({ id, required: true }), read: (el) => ({ dateValue: parseDay(el.value) }) };
    case 'timestampValue':
      return { el: dateTimeInput({ id, required: true }), read: (el) => ({ timestampValue: parseDayTime(el.value).toISOString() }) };
    default:
      return { el: h('input', { id, type: 'text', required: true, autocomplete: 'off' }), read: (el) => ({ stringValue: el.value }) };
  }
}

// later reports whether stamp a wins over b by last-writer-wins: the
// higher time, then the higher replica id.
function later(a, b) {
  const ta = BigInt(a?.time ?? 0), tb = BigInt(b?.time ?? 0);
  if (ta !== tb) return ta > tb;
  return (a?.replica ?? '') > (b?.replica ?? '');
}

function side(title, s, people, field, button, shown) {
  return h('div', { class: ['side', shown ? 'shown' : null] },
    h('p', { class: 'eyebrow' }, title),
    h('p', { class: 'value' }, valueText(s?.value, field)),
    h('p', { class: 'muted small' }, who(people, s?.author?.userId), ' · ', when(stampTime(s?.stamp)), ' · device ', short(s?.author?.deviceId)),
    button);
}

function card(c, people, reload) {
  const k = c.conflict;
  const n = `${c.recordId}-${k.id}`;
  const error = h('div', { class: 'state error', role: 'alert', hidden: true });
  const resolve = (button, resolution, done) => busy(button, async () => {
    error.hidden = true;
    try {
      await call('ReviewService', 'ResolveConflict', { clientId: c.clientId, recordId: c.recordId, conflictId: k.id, ...resolution });
      toast(`${label(k.field)} settled for ${c.clientName || 'the client'}`);
      reload();
    } catch (err) {
      replace(error, h('p', { class: 'title' }, err.title), h('p', null, err.message));
      error.hidden = false;
    }
  });
  const choose = (text, choice) => {
    const b = h('button', { type: 'button', dataset: { choice } }, text);
    b.addEventListener('click', () => resolve(b, { choice }));
    return b;
  };
  // Every device shows the last writer's value; CURRENT keeps it,
  // INCOMING takes the other one.
  const sides = () => {
    const incomingShown = later(k.incoming?.stamp, k.current?.stamp);
    const [shown, other] = incomingShown ? [k.incoming, k.current] : [k.current, k.incoming];
    return [
      side('Shown on every device', shown, people, k.field, choose('Keep this', 'CONFLICT_CHOICE_CURRENT'), true),
      side('The other edit', other, people, k.field, choose('Use this instead', 'CONFLICT_CHOICE_INCOMING'), false),
    ];
  };
  const input = valueInput('new-' + n, c.recordType, k.field, k.current?.value ?? k.incoming?.value);
  const save = h('button', { type: 'submit' }, 'Save this value');
  const form = h('form', { class: 'inline', onSubmit: (e) => {
    e.preventDefault();
    resolve(save, { value: input.read(input.el) });
  } }, h('label', { for: 'new-' + n }, 'Or write a new value'), input.el, save);
  return h('article', { class: 'card conflict-card', dataset: { conflict: k.id, field: k.field } },
    h('header', null,
      h('h2', null, label(k.field), h('span', { class: 'muted' }, ` on the ${label(c.recordType).toLowerCase()} record`)),
      link({ view: 'client', client: c.clientId }, c.clientName || short(c.clientId)),
      h('span', { class: 'muted small' }, 'detected ', when(k.detectedAt))),
    h('div', { class: 'sides' }, sides()),
    form, error);
}

/** render lists the open conflicts. */
export async function render(root, params, { signal }) {
  if (signal.aborted) return; // the person has moved on
  const list = h('div', { id: 'conflicts', 'aria-busy': 'true' });
  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Conflicts')),
    h('p', { class: 'lede' }, 'Two devices changed the same field without seeing each other’s edit. Every device already shows the same winner; choose what it should be.'),
    list);
  const reload = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const resp = await call('ReviewService', 'ListConflicts', params.get('client') ? { clientId: params.get('client') } : {}, { signal });
      const people = lookup.peopleMap(resp.people);
      const items = resp.conflicts ?? [];
      if (!params.get('client')) navcount.show(items.length);
      replace(list, items.length
        ? items.map((c) => card(c, people, reload))
        : empty('No open conflicts', 'When two devices edit the same field, the conflict waits here for a decision.'));
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, reload));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  reload();
}
