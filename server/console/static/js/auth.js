// Passkey sign-in (WebAuthn, encoded by passkey.js) and the session:
// enrolment from an invite, sign-in with a discoverable passkey, refresh
// before the access token expires, sign-out. The session lives in
// sessionStorage (this tab only); tabs sharing one (a duplicated tab) hand
// each other rotated tokens over a BroadcastChannel, and refresh under a
// Web Lock, so a rotation never looks like a replay.

import { call, configure, ApiError } from './api.js';
import { creationOptions, requestOptions, credentialJSON, checkDomain, webauthnError } from './passkey.js';

const KEY = 'throughcare.session';
const DEVICES = 'throughcare.devices'; // credential id → device id (not secret)
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('throughcare-session') : null;

let session = load();
let timer = 0;
const listeners = new Set();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) ?? null;
  } catch {
    return null;
  }
}

function save(next, why) {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  schedule();
  for (const fn of listeners) fn(session, why);
}

/** current returns the session ({userId, role, deviceId, ...}) or null. */
export function current() {
  return session;
}

/** onChange calls fn(session, why) whenever the session changes. */
export function onChange(fn) {
  listeners.add(fn);
}

const expiresIn = (s) => new Date(s.accessExpiresAt).getTime() - Date.now();

// Refresh a minute before the access token expires (or at 80% of a short
// lifetime), and again whenever the tab wakes up late.
function schedule() {
  clearTimeout(timer);
  if (!session) return;
  const left = expiresIn(session);
  const lifetime = Math.max(left, 1);
  const lead = Math.min(60_000, lifetime * 0.2);
  const jitter = Math.random() * Math.min(2000, lead / 4); // duplicated tabs rarely collide
  timer = setTimeout(() => refresh().catch(() => {}), Math.max(0, left - lead - jitter));
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && session && expiresIn(session) < 60_000) refresh().catch(() => {});
});

channel?.addEventListener('message', (e) => {
  const { kind, from, next } = e.data ?? {};
  if (!session || from !== session.refreshToken) return;
  if (kind === 'rotated') save(next, 'refreshed');
  if (kind === 'ended') save(null, 'signed-out');
});

let inflight = null;

/** refresh exchanges the refresh token for a new session (single flight). */
export function refresh() {
  if (!session) return Promise.reject(new ApiError('unauthenticated', 'Not signed in.'));
  inflight ??= (async () => {
    const from = session.refreshToken;
    const run = async () => {
      // Let a rotation another tab announced just before it released the
      // lock arrive first.
      if (channel) await new Promise((resolve) => setTimeout(resolve, 50));
      if (!session || session.refreshToken !== from) return; // another tab rotated it
      try {
        const { session: next } = await call('AuthService', 'Refresh', { refreshToken: from }, { anonymous: true });
        save(next, 'refreshed');
        channel?.postMessage({ kind: 'rotated', from, next });
      } catch (err) {
        if (err.code === 'unauthenticated' || err.code === 'not_found') save(null, 'expired');
        throw err;
      }
    };
    try {
      if (navigator.locks) await navigator.locks.request('throughcare-refresh', run);
      else await run();
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

/** token returns a usable access token, refreshing first if it is about to expire. */
async function token() {
  if (session && expiresIn(session) < 10_000) await refresh().catch(() => {});
  return session?.accessToken ?? '';
}

configure({
  token,
  unauthenticated: async () => {
    if (!session) return false;
    try {
      await refresh();
      return true;
    } catch {
      return false;
    }
  },
});

/** signOut ends the session on the server (best effort) and here. */
export async function signOut() {
  if (!session) return;
  const { refreshToken: from, accessToken } = session;
  // End it here first, so nothing (the live stream) tries to refresh a
  // session the server is about to end.
  save(null, 'signed-out');
  channel?.postMessage({ kind: 'ended', from });
  try {
    await call('AuthService', 'Logout', {}, { token: accessToken });
  } catch { /* ended here regardless; it expires on the server */ }
}

function rememberDevice(credentialId, deviceId) {
  const map = JSON.parse(localStorage.getItem(DEVICES) ?? '{}');
  if (deviceId) map[credentialId] = deviceId;
  else delete map[credentialId];
  localStorage.setItem(DEVICES, JSON.stringify(map));
}

function knownDevice(credentialId) {
  return JSON.parse(localStorage.getItem(DEVICES) ?? '{}')[credentialId] ?? '';
}

/** deviceName describes this browser for device lists. */
export function deviceName() {
  const brand = navigator.userAgentData?.brands?.find((b) => !/Not.A.Brand|Chromium/i.test(b.brand))?.brand ??
    (/Firefox\//.test(navigator.userAgent) ? 'Firefox' : /Safari\//.test(navigator.userAgent) && !/Chrom/.test(navigator.userAgent) ? 'Safari' : 'Chromium');
  const platform = navigator.userAgentData?.platform || navigator.platform || '';
  return `Web console (${brand}${platform ? ' on ' + platform : ''})`.slice(0, 100);
}

/** enrol redeems an invite with a new passkey on this device and signs in. */
export async function enrol(inviteCode, name) {
  if (!window.PublicKeyCredential) throw new ApiError('unimplemented', 'This browser does not support passkeys.');
  const begin = await call('AuthService', 'BeginEnrollment', { inviteCode, deviceName: name }, { anonymous: true });
  const options = creationOptions(begin.optionsJson);
  checkDomain(options.rp?.id);
  let cred;
  try {
    cred = await navigator.credentials.create({ publicKey: options });
  } catch (err) {
    throw webauthnError(err);
  }
  const { session: next } = await call('AuthService', 'FinishEnrollment',
    { ceremonyId: begin.ceremonyId, credentialJson: credentialJSON(cred) }, { anonymous: true });
  rememberDevice(cred.id, next.deviceId);
  save(next, 'signed-in');
  return next;
}

/** signIn signs in with any passkey registered with this server. */
export async function signIn() {
  if (!window.PublicKeyCredential) throw new ApiError('unimplemented', 'This browser does not support passkeys.');
  const begin = await call('AuthService', 'BeginLogin', {}, { anonymous: true });
  const options = requestOptions(begin.optionsJson);
  checkDomain(options.rpId);
  let cred;
  try {
    cred = await navigator.credentials.get({ publicKey: options, mediation: 'optional' });
  } catch (err) {
    throw webauthnError(err);
  }
  const deviceId = knownDevice(cred.id);
  let next;
  try {
    ({ session: next } = await call('AuthService', 'FinishLogin', {
      ceremonyId: begin.ceremonyId, credentialJson: credentialJSON(cred), deviceId, deviceName: deviceName(),
    }, { anonymous: true }));
  } catch (err) {
    // A device id this browser remembers may have been revoked since:
    // forget it, so the next attempt signs in without one.
    if (deviceId && err.code === 'unauthenticated') rememberDevice(cred.id, undefined);
    throw err;
  }
  rememberDevice(cred.id, next.deviceId);
  save(next, 'signed-in');
  return next;
}

schedule();
