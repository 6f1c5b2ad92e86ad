// AuthGuard: one async function per op of the authguard-token protocol
// (man authguard-token, "batch"), over a supervised batch co-process (the
// default), one process per call, or the socket of a running authguardd.
//
// Naming: the op guard_check is guardCheck(); request fields and answer
// members are camelCase in JavaScript (retry_after -> retryAfter,
// refresh_token -> refreshToken) and snake_case on the wire.  Members
// holding JWT claims, JWKS keys or header lines are passed as they are.
//
// Every result has ok (status 0), status (0 or 1) and raw (the helper's
// answer exactly as it came, snake_case, with status and id).  Status 1 --
// a refusal: locked, wrong code, expired token -- is a normal result with
// ok false; status 2 throws AuthGuardUsageError, status 3
// AuthGuardInternalError; a helper that died, a timeout or a full queue
// throw their own AuthGuardError.  Every throw means "deny".

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { BatchTransport } from './batch.js';
import { OneShotTransport } from './oneshot.js';
import { SocketTransport } from './socket.js';
import {
  AuthGuardInternalError,
  AuthGuardUnsupportedOpError,
  AuthGuardUsageError,
} from './errors.js';

export const OPS = Object.freeze([
  'guard_check', 'guard_failure', 'guard_success', 'mfa_verify', 'issue', 'verify', 'refresh',
  'revoke', 'jwks', 'session_create', 'session_check', 'session_rotate', 'session_list',
  'session_end', 'logout', 'webhook_receive',
]);

const KEEP = new Set(['claims', 'keys', 'headers']);

// Ops whose answer has an "id" of its own: sent without a request id, so
// that the batch answer keeps it (matched by order alone).
const OWN_ID = new Set(['webhook_receive']);

const TRANSPORTS = Object.freeze({ batch: BatchTransport, oneshot: OneShotTransport, socket: SocketTransport });

// The socket transport takes its own options; those of the helper
// processes (helper, conf, env, ...) mean nothing to it and are left out,
// so that one options object can serve either transport.
const SOCKET_OPTIONS = ['socketPath', 'connections', 'maxInFlight', 'maxQueue', 'timeoutMs', 'idleTimeoutMs',
  'restartDelayMs', 'maxRestartDelayMs', 'maxAnswerBytes', 'closeTimeoutMs'];
function socketOptions(o) {
  return Object.fromEntries(SOCKET_OPTIONS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

export function camelKey(k) {
  return k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function camelize(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'status' || k === 'id') continue;
    if (k === 'sessions' && Array.isArray(v)) {
      out.sessions = v.map((s) => (s && typeof s === 'object' ? camelize(s) : s));
    } else {
      out[KEEP.has(k) ? k : camelKey(k)] = v;
    }
  }
  return out;
}

// Drops members whose value is undefined (an absent option), so that the
// helper sees only what the caller gave.
function wire(fields) {
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class AuthGuard extends EventEmitter {
  constructor(options = {}) {
    super();
    const { transport = 'batch', onStderr, ...rest } = options;
    if (typeof transport !== 'string' || !Object.hasOwn(TRANSPORTS, transport)) {
      throw new TypeError('transport must be "batch", "oneshot" or "socket"');
    }
    this.transportName = transport;
    this.transport = new TRANSPORTS[transport](transport === 'socket' ? socketOptions(rest) : rest);
    if (this.transport instanceof EventEmitter) {
      for (const ev of ['spawn', 'exit', 'restart', 'stderr', 'connect', 'disconnect', 'unavailable']) {
        this.transport.on(ev, (...a) => this.emit(ev, ...a));
      }
    }
    // The helper's messages on stderr are for people and carry no
    // secret; by default they go to this process's stderr.
    const sink = onStderr === undefined ? (line) => process.stderr.write(`${line}\n`) : onStderr;
    if (sink) this.on('stderr', sink);
    this._clear = null;
  }

  get pid() {
    return this.transport.pid;
  }

  stats() {
    return this.transport.stats();
  }

  start() {
    this.transport.start();
    return this;
  }

  restart() {
    this._clear = null;
    this.transport.restart();
  }

  close(opts) {
    return this.transport.close(opts);
  }

  // The raw call: op name and wire fields (snake_case).  Returns the raw
  // answer for status 0 and 1; throws for the rest.
  async call(op, fields = {}, opts = {}) {
    const ans = await this.transport.request(op, wire(fields), { ...opts, withoutId: OWN_ID.has(op) });
    if (ans.status === 0 || ans.status === 1) return ans;
    if (ans.status === 2) {
      if (ans.error === 'usage' && ans.message === 'unknown op') throw new AuthGuardUnsupportedOpError(op, ans);
      throw new AuthGuardUsageError(op, ans);
    }
    throw new AuthGuardInternalError(op, ans);
  }

  async _op(op, fields, opts) {
    const raw = await this.call(op, fields, opts);
    const res = { ok: raw.status === 0, status: raw.status, ...camelize(raw), raw };
    if (OWN_ID.has(op) && raw.id !== undefined) res.messageId = raw.id;
    return res;
  }

  // ---------------------------------------------------------- the guard

  guardCheck({ subject, ip } = {}, opts) {
    return this._op('guard_check', { subject, ip }, opts);
  }

  guardFailure({ subject, ip, attempt } = {}, opts) {
    return this._op('guard_failure', { subject, ip, attempt }, opts);
  }

  guardSuccess({ subject, ip, attempt } = {}, opts) {
    return this._op('guard_success', { subject, ip, attempt }, opts);
  }

  mfaVerify({ user, code, ip } = {}, opts) {
    return this._op('mfa_verify', { user, ip, code }, opts);
  }

  // ---------------------------------------------------------- tokens

  issue({ sub, aud, sid, ttl, refresh, claims } = {}, opts) {
    return this._op('issue', { sub, aud, sid, ttl, refresh, claims }, opts);
  }

  verify({ token } = {}, opts) {
    return this._op('verify', { token }, opts);
  }

  refresh({ refreshToken } = {}, opts) {
    return this._op('refresh', { refresh_token: refreshToken }, opts);
  }

  // One of: { token } (an access token), { jti }, { refreshToken,
  // family: true } (the whole family), { user } (every family of a user).
  revoke({ token, jti, refreshToken, family, user } = {}, opts) {
    return this._op('revoke', { token, jti, refresh_token: refreshToken, family, user }, opts);
  }

  jwks(opts) {
    return this._op('jwks', {}, opts);
  }

  // ---------------------------------------------------------- sessions

  sessionCreate({ user, userAgent, userAgentHash, attrs, clerkSession } = {}, opts) {
    return this._op('session_create', {
      user, user_agent: userAgent, user_agent_hash: userAgentHash, attrs, clerk_session: clerkSession,
    }, opts);
  }

  sessionCheck({ session, userAgent, userAgentHash, attrs } = {}, opts) {
    return this._op('session_check', {
      session, user_agent: userAgent, user_agent_hash: userAgentHash, attrs,
    }, opts);
  }

  sessionRotate({ session } = {}, opts) {
    return this._op('session_rotate', { session }, opts);
  }

  sessionList({ user } = {}, opts) {
    return this._op('session_list', { user }, opts);
  }

  // One of: { session } (the id), { sid } (the handle), { user } (all).
  sessionEnd({ session, sid, user } = {}, opts) {
    return this._op('session_end', { session, sid, user }, opts);
  }

  logout({ session, token, refreshToken } = {}, opts) {
    return this._op('logout', { session, token, refresh_token: refreshToken }, opts);
  }

  // ---------------------------------------------------------- webhooks

  // headers: { 'svix-id': ..., 'svix-timestamp': ..., 'svix-signature':
  // ... } (more are ignored by the helper); body: the raw request body, a
  // string or a Buffer holding UTF-8 (the signature covers the bytes:
  // never a body parsed and serialised again).
  webhookReceive({ headers, body } = {}, opts) {
    let text = body;
    if (body instanceof Uint8Array) {
      try {
        text = utf8.decode(body);
      } catch {
        return Promise.reject(new AuthGuardUsageError('webhook_receive',
          { error: 'usage', message: 'body is not UTF-8' }));
      }
    }
    return this._op('webhook_receive', { headers, body: text }, opts);
  }

  // ---------------------------------------------------------- cookies

  // The header lines that clear the session cookie, exactly as the helper
  // writes them for its configuration (session_cookie, session_samesite):
  // the Set-Cookie lines of a logout.  Learnt once per client (and restart()) from
  // a logout of a fresh random id that names no session, so that nothing
  // ends and no cookie attribute is guessed here.
  async clearCookieHeaders(opts) {
    if (!this._clear) {
      const session = `ags_${randomBytes(32).toString('base64url')}`;
      this._clear = this.logout({ session }, opts).then(
        (r) => (r.headers ?? []).filter((h) => /^set-cookie:/i.test(h)),
        (e) => {
          this._clear = null;
          throw e;
        },
      );
    }
    return this._clear;
  }
}

export function createAuthGuard(options) {
  return new AuthGuard(options);
}
