// What the administration screens share: a problem box that says what
// the server refused and why (the console's error titles and codes), a
// confirmation step for actions that cannot be undone, and labelled form
// fields.

import { h, replace, busy, toast } from './dom.js';

/** problemBox is an alert, hidden until show(err) fills and focuses it. */
export function problemBox() {
  const box = h('div', { class: 'state error', role: 'alert', tabindex: '-1', hidden: true });
  return {
    el: box,
    show(err) {
      replace(box, h('p', { class: 'title' }, err.title ?? 'Something went wrong'), h('p', null, err.message ?? String(err)),
        err.code ? h('p', { class: 'code' }, 'Code: ' + err.code + (err.requestId ? ' · request ' + err.requestId : '')) : null);
      box.hidden = false;
      box.focus();
    },
    hide() { box.hidden = true; },
  };
}

/** field is a labelled control: field('t-name', 'Name', input). */
export function field(id, text, control, hint) {
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, text), control, hint ? h('p', { class: 'hint' }, hint) : null);
}

/**
 * confirmed is a button for an action that cannot be undone: the first
 * press asks (the button becomes "Confirm …" beside "Cancel", focused), the
 * second runs act. Escape or Cancel steps back. A failure is a toast with
 * the error's title; done runs after success (redrawing the list: the focus
 * then goes to the nearest container with tabindex -1).
 */
export function confirmed(text, question, act, { done, dataset } = {}) {
  const box = h('span', { class: 'confirm' });
  const start = h('button', { type: 'button', dataset }, text);
  const back = () => {
    replace(box, start);
    start.focus();
  };
  start.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', dataset: { confirm: '' } }, question);
    const no = h('button', { type: 'button', class: 'quiet', onClick: back }, 'Cancel');
    yes.addEventListener('click', () => busy(yes, async () => {
      const home = box.closest('[tabindex="-1"]'); // where the focus goes if the row is redrawn
      try {
        await act();
        await done?.();
        if (!yes.isConnected) home?.focus();
      } catch (err) {
        toast(`${err.title ?? 'That failed'}: ${err.message}`, 'error');
        back();
      }
    }));
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && box.contains(yes)) back();
    });
    replace(box, yes, ' ', no);
    yes.focus();
  });
  return replace(box, start);
}

/** roleText names a role for people. */
export function roleText(role) {
  return { ROLE_ADMIN: 'Administrator', ROLE_SUPERVISOR: 'Supervisor', ROLE_WORKER: 'Worker' }[role] ?? '—';
}

/** table builds a grid with a caption and column headers. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows)));
}
