// Administration: the area's clients with their names, team, workers and
// case status; a new client; assigning a worker of the client's team,
// ending an assignment, and closing a case.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, link, label, errorBox, empty, busy, toast, short, dateInput, parseDay } from './dom.js';
import { enumValues } from './schema.js';
import { problemBox, field, confirmed, table } from './admin-forms.js';

function createForm(teams, reload) {
  const problem = problemBox();
  const team = h('select', { name: 'team', required: true }, h('option', { value: '' }, 'Choose…'),
    teams.map((t) => h('option', { value: t.teamId, selected: teams.length === 1 }, t.name)));
  const given = h('input', { name: 'given', required: true, maxlength: '200', autocomplete: 'off' });
  const family = h('input', { name: 'family', required: true, maxlength: '200', autocomplete: 'off' });
  const dob = dateInput({ name: 'dob' });
  const pathway = h('select', { name: 'pathway', required: true }, h('option', { value: '' }, 'Choose…'),
    (enumValues('client', 'pathway') ?? []).map((v) => h('option', { value: v }, label(v))));
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add client');
  const form = h('form', { class: 'filters', id: 'client-form', 'aria-label': 'New client' },
    field('cl-team', 'Team', team), field('cl-given', 'Given name', given), field('cl-family', 'Family name', family),
    field('cl-dob', 'Date of birth', dob), field('cl-pathway', 'Pathway', pathway), h('div', { class: 'actions' }, add));
  // One key per client typed in: sending the same form again unchanged
  // (after a lost answer) names the same client instead of adding a second.
  let key = crypto.randomUUID();
  form.addEventListener('input', () => { key = crypto.randomUUID(); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(add, async () => {
      problem.hide();
      const body = { teamId: team.value, givenName: given.value.trim(), familyName: family.value.trim(), pathway: pathway.value };
      if (dob.value.trim()) body.dateOfBirth = parseDay(dob.value);
      try {
        await call('AdminService', 'CreateClient', body, { headers: { 'Idempotency-Key': key } });
        key = crypto.randomUUID();
        toast(`${body.givenName} ${body.familyName} added`);
        for (const el of [given, family, dob]) el.value = '';
        dob.setCustomValidity('');
        await reload();
        given.focus();
      } catch (err) {
        problem.show(err);
      }
    });
  });
  return [form, problem.el];
}

function assignControl(c, workers, reload) {
  const free = workers.filter((u) => !u.disabled && (u.teamIds ?? []).includes(c.teamId) && !(c.workerIds ?? []).includes(u.userId));
  if (!free.length) return null;
  const id = 'assign-' + c.clientId;
  const pick = h('select', { id, name: 'worker' }, free.map((u) => h('option', { value: u.userId }, u.displayName)));
  const go = h('button', { type: 'submit' }, 'Assign');
  const f = h('form', { class: 'inline', dataset: { assign: c.clientId } },
    h('label', { for: id, class: 'sr-only' }, 'Worker to assign'), pick, go);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(go, async () => {
      try {
        await call('AdminService', 'AssignClient', { clientId: c.clientId, workerId: pick.value });
        toast(`Assigned to ${pick.selectedOptions[0]?.textContent ?? 'the worker'}`);
        await reload();
      } catch (err) {
        toast(`${err.title ?? 'Not assigned'}: ${err.message}`, 'error');
      }
    });
  });
  return f;
}

function clientRow(c, people, teams, workers, reload) {
  const name = c.displayName || 'Unnamed client';
  const closed = c.status === 'closed';
  const assigned = (c.workerIds ?? []).map((w) => h('li', { dataset: { worker: w } }, people.get(w) ?? short(w), ' ',
    confirmed('Unassign', `Unassign ${people.get(w) ?? 'them'}`,
      () => call('AdminService', 'UnassignClient', { clientId: c.clientId, workerId: w }), { done: reload, dataset: { unassign: w } })));
  return h('tr', { dataset: { client: c.clientId, status: c.status ?? '' } },
    h('td', null, link({ view: 'client', client: c.clientId }, name)),
    h('td', null, teams.get(c.teamId) ?? short(c.teamId)),
    h('td', null, assigned.length ? h('ul', { class: 'plain' }, assigned) : h('span', { class: 'muted' }, 'Nobody'),
      closed ? null : assignControl(c, workers, reload)),
    h('td', null, h('span', { class: ['badge', closed ? 'muted' : 'ok'] }, closed ? 'Closed' : 'Active')),
    h('td', { class: 'act' }, closed ? null : confirmed('Close case', `Close ${name}'s case`,
      () => call('AdminService', 'CloseClient', { clientId: c.clientId }), { done: reload, dataset: { close: c.clientId } })));
}

/** render lists the clients with the form for a new one. */
export async function render(root, params, { signal }) {
  const list = h('div', { id: 'clients', 'aria-busy': 'true', tabindex: '-1' });
  const top = h('div');
  replace(root, h('p', { class: 'lede' }, 'A client belongs to a team; the workers assigned to them hold their records on their tablets. Closing a case starts the area’s retention period.'),
    top, list);
  let teams = [];
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const [resp, ts, users] = await Promise.all([call('AdminService', 'ListClients', {}, { signal }), lookup.getTeams(), lookup.getUsers()]);
      teams = ts;
      const people = new Map(users.map((u) => [u.userId, u.displayName]));
      const teamNames = new Map(ts.map((t) => [t.teamId, t.name]));
      const workers = users.filter((u) => u.role === 'ROLE_WORKER');
      const clients = resp.clients ?? [];
      for (const c of clients) if (c.displayName) lookup.clients.set(c.clientId, c.displayName);
      replace(list, clients.length
        ? table('Clients', ['Client', 'Team', 'Workers', 'Case', 'Actions'], clients.map((c) => clientRow(c, people, teamNames, workers, load)))
        : empty('No clients yet', 'Add the first client above.'));
      return true;
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, load));
      return false;
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  if (await load() && !signal.aborted) replace(top, createForm(teams, load));
}
