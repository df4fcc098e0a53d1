// Administration: the area's people (invite, disable) and one person's
// devices (revoke). An invite's code is shown once, here, and kept nowhere.

import { call } from './api.js';
import * as auth from './auth.js';
import * as lookup from './lookup.js';
import { h, replace, link, when, errorBox, empty, busy, short } from './dom.js';
import { problemBox, field, confirmed, roleText, table } from './admin-forms.js';

/** render shows the people, or one person's devices (&user=). */
export function render(root, params, ctx) {
  if (params.get('tab') === 'devices' && params.get('user')) devices(root, params.get('user'), ctx);
  else people(root, ctx);
}

function inviteForm(teams, reload) {
  const problem = problemBox();
  const shown = h('div', { id: 'invite-made', hidden: true, tabindex: '-1', class: 'card' });
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off' });
  const role = h('select', { name: 'role' }, ['ROLE_WORKER', 'ROLE_SUPERVISOR', 'ROLE_ADMIN'].map((r) => h('option', { value: r }, roleText(r))));
  const team = h('select', { name: 'team' }, h('option', { value: '' }, 'No team (administrators)'),
    teams.map((t) => h('option', { value: t.teamId, selected: teams.length === 1 }, t.name)));
  const make = h('button', { type: 'submit', class: 'primary' }, 'Make invite');
  const form = h('form', { class: 'filters', id: 'invite-form', 'aria-label': 'Invite someone' },
    field('inv-name', 'Name', name), field('inv-role', 'Role', role), field('inv-team', 'Team', team),
    h('div', { class: 'actions' }, make));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(make, async () => {
      problem.hide();
      try {
        const who = name.value.trim();
        const r = await call('AdminService', 'CreateInvite', { role: role.value, teamId: team.value, displayName: who });
        const address = location.origin + '/?invite=' + encodeURIComponent(r.inviteCode);
        replace(shown,
          h('h2', null, 'Invite for ', who),
          h('p', null, 'Give this code to them in person or by phone. It is shown only now and works once, until ', when(r.expiresAt), '.'),
          h('p', null, h('code', { id: 'invite-code', class: 'mono' }, r.inviteCode)),
          h('p', { class: 'small' }, 'Or the link: ', h('span', { class: 'mono', id: 'invite-link' }, address)),
          h('button', { type: 'button', class: 'quiet', onClick: () => { shown.hidden = true; replace(shown); name.focus(); } }, 'Done, hide the code'));
        shown.hidden = false;
        shown.focus();
        name.value = '';
        reload();
      } catch (err) {
        problem.show(err);
      }
    });
  });
  return [form, problem.el, shown];
}

function personRow(u, teamNames, me, reload) {
  const teams = (u.teamIds ?? []).map((t) => teamNames.get(t) ?? short(t)).join(', ') || '—';
  const status = u.disabled ? h('span', { class: 'badge muted' }, 'Disabled') : h('span', { class: 'badge ok' }, 'Active');
  const disable = u.disabled || u.userId === me ? null
    : confirmed('Disable', `Disable ${u.displayName}`, () => call('AdminService', 'DisableUser', { userId: u.userId }),
      { done: reload, dataset: { disable: u.userId } });
  return h('tr', { dataset: { user: u.userId } },
    h('td', null, u.displayName), h('td', null, roleText(u.role)), h('td', null, teams), h('td', null, status),
    h('td', { class: 'act' }, link({ view: 'admin', tab: 'devices', user: u.userId }, 'Devices'), ' ', disable));
}

async function people(root, { signal }) {
  const list = h('div', { id: 'people', 'aria-busy': 'true', tabindex: '-1' });
  const top = h('div');
  replace(root, h('p', { class: 'lede' }, 'Invite someone with a one-time code; disable a person to sign every device of theirs out at once.'),
    top, list);
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      lookup.changed();
      const [teams, users] = await Promise.all([lookup.getTeams(), lookup.getUsers()]);
      const names = new Map(teams.map((t) => [t.teamId, t.name]));
      const me = auth.current()?.userId;
      replace(list, users.length
        ? table('People, by name', ['Name', 'Role', 'Teams', 'Status', 'Actions'], users.map((u) => personRow(u, names, me, load)))
        : empty('Nobody yet', 'Invite the first person above.'));
      return teams;
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, load));
      return null;
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  const teams = await load();
  if (teams && !signal.aborted) replace(top, inviteForm(teams, load));
}

function deviceRow(d, userId, reload) {
  const revoke = d.revokedAt ? null
    : confirmed('Revoke', `Revoke ${d.name || 'this device'}`,
      () => call('AdminService', 'RevokeUserDevice', { userId, deviceId: d.deviceId }), { done: reload, dataset: { revoke: d.deviceId } });
  return h('tr', { dataset: { device: d.deviceId } },
    h('td', null, d.name || '—'), h('td', null, when(d.createdAt)), h('td', null, when(d.lastUsedAt)),
    h('td', null, d.revokedAt ? h('span', { class: 'badge muted' }, 'Revoked ', when(d.revokedAt)) : h('span', { class: 'badge ok' }, 'Active')),
    h('td', { class: 'act' }, revoke));
}

async function devices(root, userId, { signal }) {
  const list = h('div', { id: 'devices', 'aria-busy': 'true', tabindex: '-1' });
  const title = h('h2', null, 'Devices');
  replace(root, h('p', { class: 'crumbs' }, link({ view: 'admin', tab: 'people' }, '← People')), title,
    h('p', { class: 'lede' }, 'A revoked device can no longer sign in, and its sessions end at once. Revoking the device a passkey was made on revokes every device that passkey signed in on.'),
    list);
  lookup.getUsers().then((us) => {
    const u = us.find((x) => x.userId === userId);
    if (u) replace(title, 'Devices of ', u.displayName);
  }).catch(() => {});
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const { devices: ds = [] } = await call('AdminService', 'ListUserDevices', { userId }, { signal });
      replace(list, ds.length
        ? table('Devices, oldest first', ['Device', 'Enrolled', 'Last signed in', 'Status', 'Actions'], ds.map((d) => deviceRow(d, userId, load)))
        : empty('No devices', 'They have not enrolled yet.'));
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, load));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  load();
}
