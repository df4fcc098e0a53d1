// Administration: invites, pending by default (ended ones on request),
// newest first, a page at a time, and revoking one. Codes are never shown
// again here: only whom an invite is for.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, when, errorBox, empty, label, short } from './dom.js';
import { confirmed, roleText, table } from './admin-forms.js';

const PAGE = 50;

function inviteRow(in_, people, teams, reload) {
  const state = (in_.state ?? '').replace('INVITE_STATE_', '').toLowerCase();
  const revoke = state === 'pending'
    ? confirmed('Revoke', `Revoke the invite for ${in_.displayName}`,
      () => call('AdminService', 'RevokeInvite', { inviteId: in_.inviteId }), { done: reload, dataset: { revoke: in_.inviteId } })
    : null;
  return h('tr', { dataset: { invite: in_.inviteId, state } },
    h('td', null, in_.displayName || '—'), h('td', null, roleText(in_.role)),
    h('td', null, in_.teamId ? teams.get(in_.teamId) ?? short(in_.teamId) : '—'),
    h('td', null, in_.createdByUserId ? people.get(in_.createdByUserId) ?? short(in_.createdByUserId) : 'The server'),
    h('td', null, when(in_.expiresAt)), h('td', null, h('span', { class: ['badge', state === 'pending' ? 'todo' : 'muted'] }, label(state))),
    h('td', { class: 'act' }, revoke));
}

/** render lists invites. */
export function render(root, params, { signal, navigate }) {
  const ended = params.get('ended') === '1';
  const list = h('div', { id: 'invites', 'aria-busy': 'true', tabindex: '-1' });
  const toggle = h('input', { type: 'checkbox', id: 'inv-ended', checked: ended });
  toggle.addEventListener('change', () => navigate({ view: 'admin', tab: 'invites', ...(toggle.checked ? { ended: '1' } : {}) }));
  replace(root, h('p', { class: 'lede' }, 'An invite enrols one person once. Revoke one that was lost or sent to the wrong person; to stop someone who has enrolled, disable them under People.'),
    h('p', { class: 'check' }, toggle, h('label', { for: 'inv-ended' }, ' Also show used, revoked and expired invites')), list);
  let token = '';
  const shown = [];
  const load = async (more = false) => {
    list.setAttribute('aria-busy', 'true');
    try {
      if (!more) {
        token = '';
        shown.length = 0;
      }
      const [resp, users, teams] = await Promise.all([
        call('AdminService', 'ListInvites', { includeEnded: ended, pageSize: PAGE, pageToken: token }, { signal }),
        lookup.getUsers().catch(() => []), lookup.getTeams().catch(() => [])]);
      shown.push(...(resp.invites ?? []));
      token = resp.nextPageToken ?? '';
      const people = new Map(users.map((u) => [u.userId, u.displayName]));
      const teamNames = new Map(teams.map((t) => [t.teamId, t.name]));
      replace(list, shown.length
        ? [table('Invites, newest first', ['For', 'Role', 'Team', 'Made by', 'Expires', 'State', 'Actions'],
          shown.map((x) => inviteRow(x, people, teamNames, () => load()))),
        token ? h('nav', { class: 'pager', 'aria-label': 'More' }, h('button', { type: 'button', class: 'older', onClick: () => load(true) }, 'Show more')) : null]
        : empty('No pending invites', 'Invite someone under People.'));
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, () => load()));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  load();
}
