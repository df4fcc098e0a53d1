// The sign-in screen: sign in with a passkey, or enrol one from an invite.

import * as auth from './auth.js';
import { h, replace, busy } from './dom.js';

// What a failed ceremony means to the person at the screen.
const TITLES = {
  signin: { unauthenticated: 'That passkey did not sign you in', cancelled: 'Sign-in cancelled' },
  enrol: { unauthenticated: 'The invite was not accepted', not_found: 'The invite was not accepted', cancelled: 'Enrolment cancelled' },
};
const HINTS = {
  signin: { unauthenticated: 'If your account was disabled or this device revoked, ask your administrator.' },
  enrol: { unauthenticated: 'Check the code, or ask for a new invite: each works once, for a few days.',
    not_found: 'Check the code, or ask for a new invite: each works once, for a few days.' },
};

function problem(box, err, kind) {
  replace(box, h('p', { class: 'title' }, TITLES[kind][err.code] ?? err.title ?? 'Something went wrong'),
    h('p', null, err.message ?? String(err)),
    HINTS[kind][err.code] ? h('p', { class: 'hint' }, HINTS[kind][err.code]) : null,
    err.href ? h('p', null, h('a', { href: err.href }, 'Go to ' + err.href)) : null);
  box.hidden = false;
  box.focus();
}

/** render draws the screen into root. */
export function render(root, params) {
  const error = h('div', { class: 'state error', role: 'alert', tabindex: '-1', hidden: true });
  const signInButton = h('button', { type: 'button', class: 'primary wide', id: 'signin' }, 'Sign in with a passkey');
  signInButton.addEventListener('click', () => busy(signInButton, async () => {
    error.hidden = true;
    try {
      await auth.signIn();
    } catch (err) {
      problem(error, err, 'signin');
    }
  }));

  const invite = h('input', { id: 'invite', name: 'invite', required: true, autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', value: params.get('invite') ?? '', 'aria-describedby': 'invite-help' });
  const device = h('input', { id: 'device-name', name: 'device', required: true, maxlength: '100', value: auth.deviceName() });
  const enrolButton = h('button', { type: 'submit', class: 'wide' }, 'Create a passkey and enrol');
  const form = h('form', { class: 'stack', id: 'enrol', onSubmit: (e) => {
    e.preventDefault();
    busy(enrolButton, async () => {
      error.hidden = true;
      try {
        await auth.enrol(invite.value.trim(), device.value.trim());
      } catch (err) {
        problem(error, err, 'enrol');
      }
    });
  } },
  h('div', { class: 'field' }, h('label', { for: 'invite' }, 'Invite code'), invite,
    h('p', { class: 'hint', id: 'invite-help' }, 'The one-time code from your administrator. It starts with “tci_”.')),
  h('div', { class: 'field' }, h('label', { for: 'device-name' }, 'Name for this device'), device),
  enrolButton);

  replace(root, h('section', { class: 'signin' },
    h('h1', null, 'Sign in to Throughcare'),
    h('p', { class: 'lede' }, 'Review what caseworkers have synced: contacts, timelines, conflicts and outcomes.'),
    error,
    signInButton,
    h('p', { class: 'hint' }, 'Your browser or phone asks you to confirm with your fingerprint, face or screen lock. There are no passwords.'),
    h('details', { class: 'enrol', open: params.has('invite') },
      h('summary', null, 'First time here? Enrol with an invite'),
      form)));
  if (params.has('invite')) enrolButton.focus();
}
