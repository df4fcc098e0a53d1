// The console's shell: the router (views named in the query string, so
// every screen has an address), the header, and sign-in state.

import * as auth from './auth.js';
import * as live from './live.js';
import * as lookup from './lookup.js';
import { h, replace, toast } from './dom.js';
import * as signin from './signin.js';
import * as queue from './queue.js';
import * as contact from './contact.js';
import * as timeline from './timeline.js';
import * as conflicts from './conflicts.js';
import * as stats from './stats.js';
import * as audit from './audit.js';
import * as caseload from './caseload.js';
import * as navcount from './navcount.js';
import * as admin from './admin.js';
import * as topissues from './topschedule.js';
import * as orderreport from './orderreport.js';
import * as outcomes from './outcomes.js';

const views = { queue, contact, client: timeline, conflicts, stats, audit, caseload };
views.admin = admin;
views.topissues = topissues;
views.orderreport = orderreport;
views.outcomes = outcomes;
// Views for administrators only (the server refuses others their calls too).
const adminOnly = new Set(['audit', 'admin']);
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const sessionBox = document.getElementById('session');
const liveBadge = document.getElementById('live');

let rendered = null; // the search string and private parameters on screen
let teardown = null;

// PRIVATE are parameters that may hold personal data (a name or date of
// birth searched for): they are kept in the history entry's state, never
// in the address, which reaches reverse-proxy logs, bookmarks and history.
const PRIVATE = ['q'];

/** navigate shows a view: navigate({view: 'client', client: id}). */
export function navigate(params, { replace: replaceState = false } = {}) {
  const open = {};
  const hidden = {};
  for (const [k, v] of Object.entries(params)) (PRIVATE.includes(k) ? hidden : open)[k] = v;
  const search = '?' + new URLSearchParams(open);
  history[replaceState ? 'replaceState' : 'pushState']({ private: hidden }, '', '/' + search);
  render(true);
}

/** here is what is on screen: the address and the private parameters. */
function here() {
  return location.search + '#' + JSON.stringify(history.state?.private ?? {});
}

function render(moved = false) {
  rendered = here();
  teardown?.abort();
  teardown = new AbortController();
  const params = new URLSearchParams(location.search);
  for (const k of PRIVATE) params.delete(k); // an old link's: never read from the address
  for (const [k, v] of Object.entries(history.state?.private ?? {})) params.set(k, v);
  const s = auth.current();
  showChrome(s);
  if (!s) {
    signin.render(main, params, { signal: teardown.signal, navigate });
    return;
  }
  if (s.role === 'ROLE_WORKER') {
    replace(main, h('section', { class: 'narrow' },
      h('h1', null, 'This console is for supervisors'),
      h('p', null, 'You are signed in as an outreach worker. Workers use the Throughcare app on their tablet; supervisors and administrators review here.'),
      h('button', { type: 'button', onClick: () => auth.signOut() }, 'Sign out')));
    return;
  }
  let name = views[params.get('view')] ? params.get('view') : 'queue';
  if (adminOnly.has(name) && s.role !== 'ROLE_ADMIN') name = 'queue';
  for (const a of nav.querySelectorAll('a')) {
    const on = a.dataset.view === name || (name === 'contact' && a.dataset.view === 'queue');
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(main);
  views[name].render(main, params, { signal: teardown.signal, navigate });
  if (moved) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
}

function showChrome(s) {
  const staff = s && s.role !== 'ROLE_WORKER';
  nav.hidden = !staff;
  for (const a of nav.querySelectorAll('[data-admin]')) a.hidden = s?.role !== 'ROLE_ADMIN';
  sessionBox.hidden = !s;
  const who = document.getElementById('who');
  if (!s) return;
  const role = { ROLE_ADMIN: 'Administrator', ROLE_SUPERVISOR: 'Supervisor', ROLE_WORKER: 'Worker' }[s.role] ?? '';
  who.textContent = role;
  if (staff) {
    lookup.me().then((me) => {
      if (me && auth.current() === s) who.textContent = `${me.name} · ${role}${me.area ? ' · ' + me.area : ''}`;
    }).catch(() => {});
  }
}

// In-app links change the view without reloading the page.
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[data-route], #nav a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  render(true);
});

window.addEventListener('popstate', () => {
  if (here() !== rendered) render(true);
});

document.getElementById('signout').addEventListener('click', () => auth.signOut());

live.events.addEventListener('state', (e) => {
  liveBadge.dataset.state = e.detail;
  liveBadge.querySelector('.label').textContent =
    { live: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', off: 'Offline' }[e.detail] ?? e.detail;
});

auth.onChange((s, why) => {
  if (why === 'refreshed') return;
  lookup.reset();
  if (s) {
    live.start();
    if (why === 'signed-in') {
      const p = new URLSearchParams(location.search);
      p.delete('invite');
      navigate(p.size && p.get('view') ? p : { view: 'queue' }, { replace: true });
      return;
    }
  } else {
    live.stop();
    if (why === 'expired') toast('Your session has ended. Please sign in again.', 'warn');
  }
  render(true);
});

navcount.start();
if (auth.current()) live.start();
render();
