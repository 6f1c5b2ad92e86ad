// The reference web application: how a Node backend wires pam_authguard in.
// Plain node:http, no framework.  Every security decision -- may this
// login be tried now, is this code right, is this session or token valid,
// what the cookie looks like -- is the helper's answer; the application
// only checks the password (users.js) and renders pages.
//
// Routes
//   GET  /                 home
//   GET  /login            login form
//   POST /login            guard_check -> password -> guard_failure | (second step) | guard_success + session_create
//   POST /login/code       mfa_verify -> guard_success + session_create
//   GET  /account          the protected page (requireSession)
//   GET  /mfa              MFA status (authguard-enroll --status)
//   POST /mfa/enroll       start: QR code (SVG) and secret
//   POST /mfa/confirm      confirm with a code: backup codes; session_rotate
//   POST /logout           logout (session, access token, refresh token)
//   POST /api/token        issue an access + refresh token tied to the session
//   GET  /api/me           requireBearer
//   POST /api/refresh      refresh (rotation; reuse revokes the family)
//   POST /webhooks/clerk   webhook_receive
//   GET  /static/*         app.css, app.js

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  AuthGuardError,
  AuthGuardQueueFullError,
  applyHeaders,
  readCookie,
  requireBearer,
  requireSession,
} from 'authguard-client';

import { html, page } from './views.js';

const here = dirname(fileURLToPath(import.meta.url));
const STATIC = {
  '/static/app.css': ['text/css; charset=utf-8', readFileSync(join(here, 'public/app.css'))],
  '/static/app.js': ['text/javascript; charset=utf-8', readFileSync(join(here, 'public/app.js'))],
};
const COOKIE = '__Host-ag_session';
const PENDING_TTL_MS = 5 * 60 * 1000;
const PENDING_MAX = 10000;

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readForm(req) {
  return new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8', headers = {}) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(body);
}

function json(res, status, obj, headers) {
  send(res, status, `${JSON.stringify(obj)}\n`, 'application/json', headers);
}

function redirect(res, to) {
  res.statusCode = 303;
  res.setHeader('Location', to);
  res.end();
}

// "in 59 minutes", "in 4 seconds": retry_after as people read it.
function wait(seconds) {
  if (seconds < 0) return 'until an administrator unlocks it';
  if (seconds >= 120) return `in ${Math.ceil(seconds / 60)} minutes`;
  return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
}

function utc(t) {
  return `${new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

function when(lockedUntil) {
  if (lockedUntil === 'never') return 'until an administrator unlocks it';
  return `until ${utc(lockedUntil)}`;
}

// The message for a guard refusal (guard_check / guard_success), from the
// helper's reason and retry_after only.
function guardMessage(g) {
  switch (g.reason) {
    case 'locked':
    case 'host_locked':
      return `Too many failed attempts: logins ${g.reason === 'host_locked' ? 'from your address' : 'to this account'} are locked ${g.lockedUntil != null ? when(g.lockedUntil) : ''} (try again ${wait(g.retryAfter)}).`;
    case 'too_early':
    case 'host_too_early':
      return `Please wait before trying again: next attempt possible ${wait(g.retryAfter)}.`;
    default: // busy, host_busy
      return `Too many attempts are being checked right now: try again ${wait(g.retryAfter)}.`;
  }
}

function retryHeader(seconds) {
  return seconds > 0 ? { 'Retry-After': String(seconds) } : {};
}

export function createApp({ ag, users, enroller, issuer = 'authguard example', log = () => {} }) {
  const pending = new Map(); // second login step: id -> { email, attempt, ip, expires }

  const session = requireSession(ag, {
    cookieName: COOKIE,
    onRefused(req, res) {
      send(res, 401, page('Not logged in', html`<p>You are not logged in (or your session ended).</p>
        <p><a href="/login">Log in</a></p>`));
    },
  });
  const bearer = requireBearer(ag, { realm: 'authguard-example' });

  // Runs a middleware, then fn if it passed.
  const guarded = (mw, fn) => (req, res) => new Promise((resolve, reject) => {
    mw(req, res, (err) => (err ? reject(err) : resolve(fn(req, res))));
  });

  const ipOf = (req) => req.socket.remoteAddress;
  const uaOf = (req) => req.headers['user-agent'] ?? '';

  function loginPage(res, status, message, email = '', headers = {}) {
    send(res, status, page('Log in', html`
      ${message ? html`<p class="msg" id="message">${message}</p>` : ''}
      <form method="post" action="/login" id="login">
        <label>E-mail <input name="email" type="email" autocomplete="username" value="${email}" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Log in</button>
      </form>`), undefined, headers);
  }

  function codePage(res, status, id, message) {
    send(res, status, page('Verification code', html`
      ${message ? html`<p class="msg" id="message">${message}</p>` : ''}
      <form method="post" action="/login/code" id="code">
        <input type="hidden" name="pending" value="${id}">
        <label>Code from your authenticator app, or a backup code
          <input name="code" autocomplete="one-time-code" inputmode="text" required autofocus></label>
        <button type="submit">Verify</button>
      </form>`));
  }

  // The login is done: a session, its cookie exactly as the helper wrote it.
  async function startSession(req, res, email) {
    const s = await ag.sessionCreate({ user: email, userAgent: uaOf(req) });
    if (!s.ok) {
      return loginPage(res, 403, `No new session can be opened (${s.reason}).`, email);
    }
    applyHeaders(res, s.setCookie);
    log(`login user=${email} sid=${s.sid}`);
    return redirect(res, '/account');
  }

  function prunePending() {
    const now = Date.now();
    for (const [k, v] of pending) if (v.expires <= now) pending.delete(k);
  }

  const routes = {
    'GET /': async (req, res) => {
      send(res, 200, page('pam_authguard example', html`
        <p>A reference web application for pam_authguard's web helpers.</p>
        <ul><li><a href="/login">Log in</a></li><li><a href="/account">Account</a> (protected)</li>
        <li><a href="/mfa">Two-factor authentication</a></li></ul>`));
    },

    'GET /login': async (req, res) => loginPage(res, 200, ''),

    'POST /login': async (req, res) => {
      const f = await readForm(req);
      const email = (f.get('email') ?? '').trim();
      const password = f.get('password') ?? '';
      if (!email || !password) return loginPage(res, 400, 'E-mail address and password, please.', email);
      const ip = ipOf(req);

      // 1. May this login be tried now?  (Counts it as a failure in flight.)
      const g = await ag.guardCheck({ subject: email, ip });
      if (!g.allowed) return loginPage(res, 429, guardMessage(g), email, retryHeader(g.retryAfter));

      // 2. The application's own password check.
      if (!(await users.verify(email, password))) {
        const fail = await ag.guardFailure({ subject: email, ip, attempt: g.attempt });
        let msg = 'Wrong e-mail address or password.';
        if (fail.lockedUntil != null) msg += ` Too many failed attempts: logins are locked ${when(fail.lockedUntil)}.`;
        else if (fail.retryAfter > 0) msg += ` Next attempt possible ${wait(fail.retryAfter)}.`;
        return loginPage(res, 401, msg, email, retryHeader(fail.retryAfter));
      }

      // 3. A second factor, when the account has one (authguard-enroll says).
      const st = await enroller.status(email);
      if (st.answer?.enrolled === true) {
        prunePending();
        if (pending.size >= PENDING_MAX) throw new HttpError(503, 'too many logins in progress');
        const id = randomBytes(32).toString('base64url');
        pending.set(id, { email, attempt: g.attempt, ip, expires: Date.now() + PENDING_TTL_MS });
        return codePage(res, 200, id, '');
      }

      // 4. Success: clears the failures; refused if locked meanwhile.
      const s = await ag.guardSuccess({ subject: email, ip, attempt: g.attempt });
      if (!s.allowed) return loginPage(res, 429, guardMessage(s), email, retryHeader(s.retryAfter));
      return startSession(req, res, email);
    },

    'POST /login/code': async (req, res) => {
      const f = await readForm(req);
      const id = f.get('pending') ?? '';
      const p = pending.get(id);
      if (!p || p.expires <= Date.now()) {
        pending.delete(id);
        return loginPage(res, 401, 'The login took too long: please log in again.');
      }
      const v = await ag.mfaVerify({ user: p.email, code: f.get('code') ?? '', ip: p.ip });
      if (v.valid) {
        pending.delete(id);
        const s = await ag.guardSuccess({ subject: p.email, ip: p.ip, attempt: p.attempt });
        if (!s.allowed) return loginPage(res, 429, guardMessage(s), p.email, retryHeader(s.retryAfter));
        return startSession(req, res, p.email);
      }
      if (v.reason === 'replayed') {
        // Nothing was counted: ask for the next code.
        return codePage(res, 401, id, `This code was already used. Wait for the next one (${wait(v.retryAfter)}) and try again.`);
      }
      // The failure is recorded (or the account locked): this login is over.
      pending.delete(id);
      let msg = 'Wrong code: please log in again.';
      if (v.reason === 'locked') msg = `Too many failed attempts: logins to this account are locked (try again ${wait(v.retryAfter)}).`;
      else if (v.lockedUntil != null) msg += ` Too many failed attempts: logins are locked ${when(v.lockedUntil)}.`;
      return loginPage(res, 401, msg, p.email);
    },

    'GET /account': guarded(session, async (req, res) => {
      const s = req.authguard.session;
      send(res, 200, page('Your account', html`
        <p id="who">Logged in as <strong>${s.user}</strong>.</p>
        <p>Session <code>${s.sid.slice(0, 8)}…</code>, ends at the latest at ${utc(s.expires)}.</p>
        <p><a href="/mfa">Two-factor authentication</a></p>
        <section id="api">
          <h2>API tokens</h2>
          <p>Access tokens for <code>/api/me</code>, tied to this session.</p>
          <button type="button" id="get-token">Get a token</button>
          <button type="button" id="call-api">Call /api/me</button>
          <button type="button" id="refresh-token">Refresh</button>
          <pre id="api-out"></pre>
        </section>
        <form method="post" action="/logout" id="logout">
          <input type="hidden" name="access_token" value="">
          <input type="hidden" name="refresh_token" value="">
          <button type="submit">Log out</button>
        </form>`, { script: true }));
    }),

    'GET /mfa': guarded(session, async (req, res) => {
      const user = req.authguard.session.user;
      const st = (await enroller.status(user)).answer ?? {};
      send(res, 200, page('Two-factor authentication', st.enrolled
        ? html`<p id="mfa-status">Enrolled: a code is asked for at every login. ${st.backup_codes_left} backup codes left.</p>
            <p><a href="/account">Back</a></p>`
        : html`<p id="mfa-status">Not enrolled.</p>
            <form method="post" action="/mfa/enroll"><button type="submit" id="start-enroll">Set up an authenticator app</button></form>
            <p><a href="/account">Back</a></p>`));
    }),

    'POST /mfa/enroll': guarded(session, async (req, res) => {
      const user = req.authguard.session.user;
      // An enrolled account is not re-enrolled from a session alone.
      if ((await enroller.status(user)).answer?.enrolled) return redirect(res, '/mfa');
      const { status, answer } = await enroller.start(user, issuer);
      if (status !== 0) throw new HttpError(500, 'enrollment could not start');
      const svg = `data:image/svg+xml;base64,${Buffer.from(answer.svg).toString('base64')}`;
      send(res, 200, page('Set up your authenticator app', html`
        <p>Scan this code with your authenticator app, or type the key.</p>
        <p><img id="qr" src="${svg}" alt="QR code of the key" width="296" height="296"></p>
        <p>Key: <code id="secret">${answer.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
        <form method="post" action="/mfa/confirm" id="confirm">
          <label>Code from the app <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label>
          <button type="submit">Confirm</button>
        </form>
        <p>Not confirmed, this set-up lapses at ${utc(answer.expires)}.</p>`));
    }),

    'POST /mfa/confirm': guarded(session, async (req, res) => {
      const user = req.authguard.session.user;
      const f = await readForm(req);
      const { answer } = await enroller.confirm(user, (f.get('code') ?? '').trim());
      if (!answer?.enrolled) {
        const why = { wrong: 'Wrong code.', malformed: 'A code has 6 digits.', not_pending: 'Nothing to confirm: start again.' }[answer?.reason]
          ?? (answer?.reason === 'locked' ? `Too many failed attempts: locked (try again ${wait(answer.retry_after)}).` : 'Refused.');
        return send(res, 401, page('Not confirmed', html`<p class="msg" id="message">${why}</p>
          <p><a href="/mfa">Start again</a></p>`));
      }
      // A change of privilege: the session gets a new id.
      const rot = await ag.sessionRotate({ session: readCookie(req, COOKIE) });
      if (rot.ok) applyHeaders(res, rot.setCookie);
      send(res, 200, page('Two-factor authentication is on', html`
        <p>From now on a code is asked for at every login.  These backup codes work once each:
        store them safely, they are not shown again.</p>
        <ol id="backup-codes">${answer.backup_codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
        <p><a href="/account">Done</a></p>`));
    }),

    'POST /logout': async (req, res) => {
      const f = await readForm(req);
      const session = readCookie(req, COOKIE);
      const lo = await ag.logout({
        session: session || undefined,
        token: f.get('access_token') || undefined,
        refreshToken: f.get('refresh_token') || undefined,
      }).catch((err) => {
        // No session id (nothing to end): only clear the cookie.
        if (err.code === 'EAUTHGUARD_USAGE' && !session) return null;
        throw err;
      });
      applyHeaders(res, lo ?? await ag.clearCookieHeaders());
      log(`logout sessions_ended=${lo?.sessionsEnded ?? 0}`);
      send(res, 200, page('Logged out', html`<p id="message">You are logged out.</p><p><a href="/login">Log in again</a></p>`));
    },

    'POST /api/token': guarded(session, async (req, res) => {
      const s = req.authguard.session;
      const t = await ag.issue({ sub: s.user, sid: s.sid, refresh: true });
      if (!t.ok) return json(res, 401, { error: t.reason });
      json(res, 200, { access_token: t.token, token_type: 'Bearer', expires_at: t.exp, refresh_token: t.refreshToken });
    }),

    'GET /api/me': guarded(bearer, async (req, res) => {
      json(res, 200, { sub: req.authguard.token.claims.sub, claims: req.authguard.token.claims });
    }),

    'POST /api/refresh': async (req, res) => {
      let body;
      try {
        body = JSON.parse((await readBody(req, 16 * 1024)).toString('utf8'));
      } catch {
        return json(res, 400, { error: 'invalid_request' });
      }
      if (typeof body?.refresh_token !== 'string' || body.refresh_token === '') return json(res, 400, { error: 'invalid_request' });
      const r = await ag.refresh({ refreshToken: body.refresh_token }).catch((err) => {
        if (err.code === 'EAUTHGUARD_USAGE') return { ok: false, reason: 'malformed' };
        throw err;
      });
      if (!r.ok) return json(res, 401, { error: 'invalid_grant', reason: r.reason });
      json(res, 200, { access_token: r.token, token_type: 'Bearer', expires_at: r.exp, refresh_token: r.refreshToken });
    },

    'POST /webhooks/clerk': async (req, res) => {
      const body = await readBody(req, 1024 * 1024 + 1);
      const headers = {};
      for (const n of ['svix-id', 'svix-timestamp', 'svix-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        if (typeof req.headers[n] === 'string') headers[n] = req.headers[n];
      }
      let r;
      try {
        r = await ag.webhookReceive({ headers, body });
      } catch (err) {
        // A body that is not UTF-8 cannot be a Clerk event (nor travel in a
        // JSON request): refused like a bad body.
        if (err.code === 'EAUTHGUARD_USAGE' && err.answer?.message === 'body is not UTF-8') {
          return json(res, 400, { error: 'bad_body' });
        }
        // Status 2/3 and helper failures: not processed, the sender retries.
        log(`webhook error=${err.code}`);
        return json(res, 500, { error: 'not processed' });
      }
      // A replay was processed before: 2xx stops the sender's retries.
      if (r.ok || r.reason === 'replayed') return json(res, 200, { ok: true, action: r.action ?? null });
      return json(res, 400, { error: r.reason });
    },
  };

  return async function handle(req, res) {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const path = new URL(req.url, 'http://x').pathname;
    try {
      if (req.method === 'GET' && STATIC[path]) {
        res.setHeader('Cache-Control', 'public, max-age=300');
        return send(res, 200, STATIC[path][1], STATIC[path][0]);
      }
      const route = routes[`${req.method} ${path}`];
      if (!route) return send(res, 404, page('Not found', html`<p>Not found.</p>`));
      await route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return send(res, err.status, page('Error', html`<p>${err.message}</p>`));
      // Any helper failure denies: 503, never a pass.
      if (err instanceof AuthGuardError) {
        log(`authguard error=${err.code} op=${err.op}`);
        return send(res, 503, page('Unavailable', html`<p>The service is busy or unavailable; try again shortly.</p>`),
          undefined, err instanceof AuthGuardQueueFullError ? { 'Retry-After': '1' } : {});
      }
      log(`error ${err.stack ?? err}`);
      return send(res, 500, page('Error', html`<p>Internal error.</p>`));
    }
  };
}

