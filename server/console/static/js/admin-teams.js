// Administration: the area's teams, and a new one.

import { call } from './api.js';
import * as lookup from './lookup.js';
import { h, replace, errorBox, empty, busy, toast } from './dom.js';
import { problemBox, field, table } from './admin-forms.js';

/** render lists the teams with a form for a new one. */
export function render(root, params, { signal }) {
  const list = h('div', { id: 'teams', 'aria-busy': 'true' });
  const problem = problemBox();
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off' });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add team');
  const form = h('form', { class: 'filters', id: 'team-form', 'aria-label': 'New team' },
    field('team-name', 'New team', name), h('div', { class: 'actions' }, add));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(add, async () => {
      problem.hide();
      try {
        const { team } = await call('AdminService', 'CreateTeam', { name: name.value.trim() });
        lookup.changed();
        toast(`Team ${team.name} added`);
        name.value = '';
        await load();
        name.focus();
      } catch (err) {
        problem.show(err);
      }
    });
  });
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const { teams = [] } = await call('AdminService', 'ListTeams', {}, { signal });
      replace(list, teams.length
        ? table('Teams, by name', ['Team', 'Id'], teams.map((t) => h('tr', { dataset: { team: t.teamId } },
          h('td', null, t.name), h('td', { class: 'mono small' }, t.teamId))))
        : empty('No teams yet', 'Add the first team: workers and supervisors each belong to one.'));
    } catch (err) {
      if (err.name !== 'AbortError') replace(list, errorBox(err, load));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  replace(root, h('p', { class: 'lede' }, 'Workers, supervisors and clients each belong to a team of the area.'),
    form, problem.el, list);
  load();
}
