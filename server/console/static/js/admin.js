// Administration (administrators only): the area's teams, people and
// their devices, invites and clients, one section at a time
// (?view=admin&tab=…), each through the AdminService. The sections live in
// admin-*.js; the forms, confirmations and problem boxes they share in
// admin-forms.js.

import { h, replace, link } from './dom.js';
import * as teams from './admin-teams.js';
import * as people from './admin-people.js';
import * as invites from './admin-invites.js';
import * as clients from './admin-clients.js';

const SECTIONS = [
  ['people', 'People', people.render],
  ['invites', 'Invites', invites.render],
  ['clients', 'Clients', clients.render],
  ['teams', 'Teams', teams.render],
];

/** render shows the section the address names (People by default). */
export function render(root, params, ctx) {
  if (ctx.signal.aborted) return;
  let tab = params.get('tab') ?? 'people';
  if (tab === 'devices') tab = 'people'; // a person's devices belong to People
  const section = SECTIONS.find(([k]) => k === tab) ?? SECTIONS[0];
  const body = h('div', { id: 'admin', dataset: { tab: section[0] } });
  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Administration')),
    h('nav', { class: 'tabs', 'aria-label': 'Administration' }, SECTIONS.map(([k, text]) =>
      link({ view: 'admin', tab: k }, text))),
    body);
  for (const a of root.querySelectorAll('.tabs a')) {
    if (new URLSearchParams(a.search).get('tab') === section[0]) a.setAttribute('aria-current', 'page');
  }
  section[2](body, params, ctx);
}
