// WebAuthn encoding: the server speaks the JSON form of the ceremonies
// (base64url for binary fields), the browser's API wants ArrayBuffers.
// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON
// and PublicKeyCredential#toJSON are used where the browser has them, and
// done by hand where it does not (older Chromium, Safari before 17.4).

import { ApiError } from './api.js';

/** b64url encodes bytes (ArrayBuffer or view) as unpadded base64url. */
export function b64url(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** unb64url decodes base64url (padded or not) into an ArrayBuffer. */
export function unb64url(s) {
  const std = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** creationOptions turns the server's options JSON into navigator.credentials.create options. */
export function creationOptions(json) {
  const o = JSON.parse(json);
  const pk = o.publicKey ?? o;
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
  }
  return {
    ...pk,
    challenge: unb64url(pk.challenge),
    user: { ...pk.user, id: unb64url(pk.user.id) },
    excludeCredentials: (pk.excludeCredentials ?? []).map((c) => ({ ...c, id: unb64url(c.id) })),
  };
}

/** requestOptions turns the server's options JSON into navigator.credentials.get options. */
export function requestOptions(json) {
  const o = JSON.parse(json);
  const pk = o.publicKey ?? o;
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
  }
  return {
    ...pk,
    challenge: unb64url(pk.challenge),
    allowCredentials: (pk.allowCredentials ?? []).map((c) => ({ ...c, id: unb64url(c.id) })),
  };
}

/** credentialJSON serialises a PublicKeyCredential the way the server parses it. */
export function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return JSON.stringify(cred.toJSON());
  const r = cred.response;
  const response = { clientDataJSON: b64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url(r.attestationObject);
    response.transports = r.getTransports?.() ?? [];
  } else {
    response.authenticatorData = b64url(r.authenticatorData);
    response.signature = b64url(r.signature);
    if (r.userHandle) response.userHandle = b64url(r.userHandle);
  }
  return JSON.stringify({
    id: cred.id, rawId: b64url(cred.rawId), type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response, clientExtensionResults: cred.getClientExtensionResults?.() ?? {},
  });
}

/** checkDomain explains an address that cannot use the server's passkeys. */
export function checkDomain(rpId) {
  const host = location.hostname;
  if (!rpId || host === rpId || host.endsWith('.' + rpId)) return;
  const port = location.port ? ':' + location.port : '';
  const there = `${location.protocol}//${rpId}${port}/`;
  const err = new ApiError('wrong_address',
    `Passkeys for this server belong to “${rpId}”, but this page was opened as “${host}”. Open ${there} instead.`);
  err.href = there;
  throw err;
}

/** webauthnError turns a WebAuthn DOMException into an ApiError people can read. */
export function webauthnError(err) {
  if (err instanceof ApiError) return err;
  switch (err?.name) {
    case 'NotAllowedError':
      return new ApiError('cancelled', 'The passkey request was cancelled or timed out.');
    case 'InvalidStateError':
      return new ApiError('already_exists', 'This device already has a passkey for this account.');
    case 'SecurityError':
      return new ApiError('failed_precondition', 'This address cannot use passkeys (it must be https, or http://localhost).');
    case 'NotSupportedError':
      return new ApiError('unimplemented', 'This browser or device does not support the passkey this server asks for.');
    default:
      return new ApiError('unknown', err?.message ?? String(err));
  }
}
