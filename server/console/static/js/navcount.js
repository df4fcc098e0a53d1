// The open-conflict count beside "Conflicts" in the navigation. It is read
// when the live stream is ready (once per sign-in or reconnection) and
// whenever the conflicts page lists them, not on every change: each read is
// an audited view.

import { call } from './api.js';
import * as live from './live.js';
import { h } from './dom.js';

function badge() {
  const a = document.querySelector('#nav a[data-view="conflicts"]');
  if (!a) return null;
  let b = a.querySelector('.nav-count');
  if (!b) {
    b = h('span', { class: 'nav-count', id: 'nav-conflicts', hidden: true });
    a.append(' ', b);
  }
  return b;
}

/** show sets the count (0 hides it). */
export function show(n) {
  const b = badge();
  if (!b) return;
  b.textContent = String(n);
  b.setAttribute('aria-label', `${n} open conflict${n === 1 ? '' : 's'}`);
  b.hidden = !n;
}

/** start keeps the count up to date while signed in. */
export function start() {
  live.events.addEventListener('ready', () => {
    call('ReviewService', 'ListConflicts', {}).then((r) => show((r.conflicts ?? []).length)).catch(() => {});
  });
}
