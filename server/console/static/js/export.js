// CSV exports: fetched with the session's token, saved as a file.

import { download } from './api.js';
import { busy, toast, parseDay } from './dom.js';

/** dayStart turns "2026-03-01" into that local midnight as RFC 3339
 * (plusDays later), or undefined unless it is a real YYYY-MM-DD day. */
export function dayStart(d, plusDays = 0) {
  const p = parseDay(d);
  return p ? new Date(p.year, p.month - 1, p.day + plusDays).toISOString() : undefined;
}

/** exportURL builds /export/<kind>.csv for the period and team in params. */
export function exportURL(kind, params) {
  const q = new URLSearchParams();
  const from = dayStart(params.get('from')), to = dayStart(params.get('to'), 1);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  if (params.get('team')) q.set('team_id', params.get('team'));
  if (kind === 'statistics' && params.get('quiet')) q.set('no_contact_days', params.get('quiet'));
  return `/export/${kind}.csv` + (q.size ? '?' + q : '');
}

/** exportCSV downloads an export, showing progress on button. */
export function exportCSV(button, kind, params) {
  return busy(button, async () => {
    try {
      const { name, size } = await download(exportURL(kind, params), `throughcare-${kind}.csv`);
      toast(`Saved ${name} (${Math.max(1, Math.round(size / 1024))} KB)`);
    } catch (err) {
      toast(`${err.title ?? 'Download failed'}: ${err.message}`, 'error');
    }
  });
}
