// Live updates: SyncService.Subscribe as a Connect JSON server stream. A
// supervisor's session holds their teams' buckets, so the stream first
// catches up with all of them (that baseline names the clients and the
// contacts already there), then carries every change as it is accepted.
// Each later page is announced as a "changes" event: how many contacts are
// new and which clients changed. The cursor is kept in memory only, so a
// reload starts a fresh baseline.

import { stream } from './api.js';
import * as auth from './auth.js';
import { clientName } from './dom.js';
import { clients } from './lookup.js';

/** events fires "state" (connecting, live, retrying, off) and "changes". */
export const events = new EventTarget();

const known = new Set(); // contact ids seen
let cursor = '';
let baseline = false;
let ctrl = null;
let state = 'off';

function setState(s) {
  if (s === state) return;
  state = s;
  events.dispatchEvent(new CustomEvent('state', { detail: s }));
}

/** status returns the stream's state. */
export function status() {
  return state;
}

/** apply takes one page into the directory; returns what it changed. */
function apply(page) {
  const out = { newContacts: 0, changedContacts: 0, clients: new Set(), records: 0 };
  for (const b of page.buckets ?? []) {
    if (b.action === 'BUCKET_ACTION_EVICT') {
      clients.delete(b.clientId);
      out.clients.add(b.clientId);
      continue;
    }
    for (const r of b.records ?? []) {
      out.records++;
      out.clients.add(b.clientId);
      if (r.recordType === 'client') clients.set(b.clientId, clientName(r));
      if (r.recordType !== 'contact') continue;
      if (known.has(r.recordId)) out.changedContacts++;
      else {
        known.add(r.recordId);
        out.newContacts++;
      }
    }
  }
  return out;
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

async function run(signal) {
  let backoff = 1000;
  let refreshed = 0; // refreshes in a row that did not get a stream going
  while (!signal.aborted && auth.current()) {
    if (state !== 'retrying') setState('connecting');
    try {
      await stream('SyncService', 'Subscribe', { protocolVersion: 1, schemaVersion: 1, cursor }, (msg) => {
        if (msg.keepalive) {
          if (baseline) setState('live');
          return;
        }
        const page = msg.changes;
        if (!page) return;
        const changed = apply(page);
        if (page.cursor) cursor = page.cursor;
        if (!baseline) {
          refreshed = 0;
          if (!page.hasMore) {
            baseline = true;
            setState('live');
            events.dispatchEvent(new CustomEvent('ready'));
          }
          return;
        }
        setState('live');
        backoff = 1000;
        refreshed = 0;
        if (changed.records > 0 || changed.clients.size > 0) {
          events.dispatchEvent(new CustomEvent('changes', { detail: changed }));
        }
      }, { signal });
      // A clean end (the server always says why, so this is a proxy's
      // doing): subscribe again from the cursor, after a breath.
      await sleep(1000, signal);
    } catch (err) {
      if (signal.aborted) return;
      const closed = err.detail?.('StreamClosed')?.reason;
      if (err.detail?.('ResetRequired')) {
        cursor = ''; // pull everything again; known contacts stay known
        continue;
      }
      if (closed === 'CLOSE_REASON_MEMBERSHIP_CHANGED' || closed === 'CLOSE_REASON_MAX_AGE') {
        await sleep(100 + Math.random() * 400, signal);
        continue;
      }
      if ((err.code === 'unauthenticated' || closed === 'CLOSE_REASON_SESSION_ENDED') && refreshed++ < 2) {
        try {
          await auth.refresh();
          continue;
        } catch {
          setState('off');
          return;
        }
      }
      if (err.code === 'permission_denied') {
        setState('off');
        return;
      }
      setState('retrying');
      await sleep(backoff + Math.random() * 500, signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
  setState('off');
}

/** start opens the stream (once) for the signed-in session. */
export function start() {
  if (ctrl) return;
  const mine = new AbortController();
  ctrl = mine;
  run(mine.signal).finally(() => {
    if (ctrl === mine) ctrl = null;
  });
}

/** stop closes the stream and forgets the baseline. */
export function stop() {
  ctrl?.abort();
  ctrl = null;
  cursor = '';
  baseline = false;
  known.clear();
  setState('off');
}

/** restart reconnects at once (after an outage), keeping the cursor. */
export function restart() {
  if (!auth.current()) return;
  ctrl?.abort();
  ctrl = null;
  start();
}

window.addEventListener('online', restart);

// Leaving the page ends the stream at once (it holds one of the browser's
// few connections to the server); coming back from the back/forward cache
// opens it again.
window.addEventListener('pagehide', () => {
  ctrl?.abort();
  ctrl = null;
});

// A tab left in the background for a minute lets its stream go too; when
// it is shown again the stream resumes from the cursor, so what arrived
// meanwhile is announced as new.
let idle = 0;
document.addEventListener('visibilitychange', () => {
  clearTimeout(idle);
  if (document.visibilityState === 'hidden') {
    idle = setTimeout(() => {
      ctrl?.abort();
      ctrl = null;
      setState('off');
    }, 60_000);
  } else if (!ctrl && auth.current()) {
    start();
  }
});
window.addEventListener('pageshow', (e) => {
  if (e.persisted) restart();
});
