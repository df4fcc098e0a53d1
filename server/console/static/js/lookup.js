// Names the console shows beside ids: teams, users and clients. Teams and
// users come from the AdminService once per session; client names come from
// the live stream (live.js) and from the lists the server returns.

import { call } from './api.js';
import * as auth from './auth.js';

let teams = null;
let users = null;
let area = null;

/** clients maps client id → display name. */
export const clients = new Map();

/** devices maps device id → device name (from the timelines read). */
export const devices = new Map();

/** reset forgets everything (the session changed). */
export function reset() {
  teams = users = area = null;
  clients.clear();
  devices.clear();
}

/** getTeams lists the teams the caller sees ([{teamId, name}]). */
export function getTeams() {
  teams ??= call('AdminService', 'ListTeams', {}).then((r) => r.teams ?? []).catch((err) => {
    teams = null;
    throw err;
  });
  return teams;
}

/** getUsers lists the users the caller sees ([{userId, displayName, role, teamIds}]). */
export function getUsers() {
  users ??= call('AdminService', 'ListUsers', {}).then((r) => r.users ?? []).catch((err) => {
    users = null;
    throw err;
  });
  return users;
}

/** me names the signed-in user and their area. */
export async function me() {
  area ??= call('AdminService', 'GetArea', {}).catch(() => ({}));
  const [a, us] = await Promise.all([area, getUsers().catch(() => [])]);
  const s = auth.current();
  const u = us.find((x) => x.userId === s?.userId);
  return { name: u?.displayName ?? 'Signed in', area: a?.name ?? '' };
}

/** teamName names a team id (or returns the id). */
export async function teamName(id) {
  const t = (await getTeams().catch(() => [])).find((x) => x.teamId === id);
  return t?.name ?? id;
}

/** peopleMap turns a response's people ([{userId, displayName}]) into a Map. */
export function peopleMap(people) {
  return new Map((people ?? []).map((p) => [p.userId, p.displayName]));
}
