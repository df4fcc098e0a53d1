// The Connect API over fetch, with Connect's JSON protocol: unary calls
// (POST /throughcare.v1.Service/Method, application/json) and server
// streams (application/connect+json, enveloped messages), plus
// authenticated file downloads.

/** ApiError is a typed error from the server ({code, message}) or the network. */
export class ApiError extends Error {
  constructor(code, message, { details = [], requestId = '' } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.title = TITLES[code] ?? 'Something went wrong';
  }

  /** detail returns the decoded (debug) form of a detail by type name. */
  detail(type) {
    return this.details.find((d) => d.type === 'throughcare.v1.' + type)?.debug ?? null;
  }
}

const TITLES = {
  unauthenticated: 'Please sign in again',
  permission_denied: 'Not allowed for your role',
  not_found: 'Not found',
  invalid_argument: 'That was not accepted',
  failed_precondition: 'That cannot be done now',
  resource_exhausted: 'Too many attempts',
  unavailable: 'The server cannot be reached',
  unimplemented: 'Not available on this server',
  deadline_exceeded: 'The server took too long',
  internal: 'The server had a problem',
  wrong_address: 'Open the console at its own address',
};

// Messages for answers that carry no Connect error body.
const BARE = {
  unimplemented: 'This server does not offer this yet; it may need updating.',
  unauthenticated: 'Your session is not valid any more.',
  permission_denied: 'Your role may not do this.',
  unavailable: 'The server is busy or restarting. Try again in a moment.',
  internal: 'The server could not answer. Try again, and tell your administrator if it goes on.',
};

// Connect's mapping from HTTP status to code, for answers without a body.
const HTTP_CODES = { 400: 'internal', 401: 'unauthenticated', 403: 'permission_denied', 404: 'unimplemented',
  429: 'unavailable', 502: 'unavailable', 503: 'unavailable', 504: 'unavailable' };

let tokenSource = async () => '';
let onUnauthenticated = async () => false;

/** configure sets where the bearer token comes from, and what to do when
 * the server says the session is not valid (return true to retry once). */
export function configure({ token, unauthenticated }) {
  tokenSource = token;
  onUnauthenticated = unauthenticated;
}

async function headers(contentType, anonymous, token, extra) {
  const hdr = { ...extra, 'Content-Type': contentType, 'Connect-Protocol-Version': '1' };
  if (!anonymous) {
    const t = token ?? await tokenSource();
    if (t) hdr.Authorization = 'Bearer ' + t;
  }
  return hdr;
}

async function errorFrom(res) {
  const requestId = res.headers.get('Request-Id') ?? '';
  let body = null;
  try {
    body = await res.json();
  } catch { /* not JSON: a proxy's or the mux's page */ }
  if (body?.code) return new ApiError(body.code, body.message, { details: body.details, requestId });
  const code = HTTP_CODES[res.status] ?? 'unknown';
  return new ApiError(code, BARE[code] ?? `The server answered HTTP ${res.status}.`, { requestId });
}

function networkError(err) {
  if (err?.name === 'AbortError') return err;
  return new ApiError('unavailable', 'The server could not be reached. Check the connection and try again.');
}

/**
 * call makes a unary call: call('ReviewService', 'ListContacts', {...}).
 * Public procedures (sign-in) pass {anonymous: true}; {token} overrides the
 * session's token; {headers} adds request headers (an Idempotency-Key).
 */
export async function call(service, method, body = {}, { anonymous = false, signal, token, headers: extra, retried = false } = {}) {
  let res;
  try {
    res = await fetch(`/throughcare.v1.${service}/${method}`, {
      method: 'POST', headers: await headers('application/json', anonymous, token, extra), body: JSON.stringify(body),
      signal, cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    throw networkError(err);
  }
  if (res.ok) return res.json();
  const err = await errorFrom(res);
  if (err.code === 'unauthenticated' && !anonymous && !token && !retried && await onUnauthenticated()) {
    return call(service, method, body, { anonymous, signal, headers: extra, retried: true });
  }
  throw err;
}

function envelope(msg) {
  const json = new TextEncoder().encode(JSON.stringify(msg));
  const out = new Uint8Array(5 + json.length);
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  return out;
}

/**
 * stream opens a server stream and calls onMessage with each message. It
 * resolves when the server ends the stream cleanly and rejects with an
 * ApiError when it ends it with an error (or the network fails), or with an
 * AbortError when signal aborts.
 */
export async function stream(service, method, body, onMessage, { signal } = {}) {
  let res;
  try {
    res = await fetch(`/throughcare.v1.${service}/${method}`, {
      method: 'POST', headers: await headers('application/connect+json', false), body: envelope(body),
      signal, cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    throw networkError(err);
  }
  if (!res.ok) throw await errorFrom(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = new Uint8Array(0);
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw networkError(err);
    }
    if (chunk.done) break;
    const joined = new Uint8Array(buf.length + chunk.value.length);
    joined.set(buf);
    joined.set(chunk.value, buf.length);
    buf = joined;
    while (buf.length >= 5) {
      const flags = buf[0];
      const size = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
      if (buf.length < 5 + size) break;
      const msg = JSON.parse(decoder.decode(buf.subarray(5, 5 + size)));
      buf = buf.slice(5 + size);
      if (flags & 1) throw new ApiError('internal', 'The server sent a compressed message the console did not ask for.');
      if (flags & 2) { // end of stream
        if (msg.error) throw new ApiError(msg.error.code, msg.error.message, { details: msg.error.details });
        return;
      }
      onMessage(msg);
    }
  }
  throw new ApiError('unavailable', 'The connection to the server was lost.');
}

/** download fetches a file with the session's token and saves it. */
export async function download(path, filename, { retried = false } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: 'Bearer ' + await tokenSource() }, cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    throw networkError(err);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (err.code === 'unauthenticated' && !retried && await onUnauthenticated()) return download(path, filename, { retried: true });
    throw err;
  }
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const named = /filename="?([^";]+)"?/.exec(disposition)?.[1];
  return save(blob, named || filename);
}

/** save offers blob to the person as a file named filename. */
export function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { size: blob.size, name: a.download };
}
