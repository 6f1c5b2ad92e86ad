// Express-style middleware, as plain (req, res, next) functions over Node's
// http.IncomingMessage / ServerResponse (which Express's req and res
// extend): no dependency on any framework.  Every decision comes from the
// helper's answer; these functions only carry the request's cookie,
// User-Agent or bearer token to it and its headers back.

import { AuthGuardUsageError } from './errors.js';

export const DEFAULT_COOKIE = '__Host-ag_session';

// The value of cookie `name` in the request's Cookie header (the first
// one if it appears twice), or undefined.  Not decoded: session ids are
// base64url.
export function readCookie(reqOrHeader, name = DEFAULT_COOKIE) {
  const header = typeof reqOrHeader === 'string' ? reqOrHeader : reqOrHeader?.headers?.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

// Header lines from an answer: a "Name: value" string (set_cookie), an
// array of them (logout's headers), or a result/raw answer holding either.
function headerLines(source) {
  if (source == null) return [];
  if (typeof source === 'string') return [source];
  if (Array.isArray(source)) return source;
  if (typeof source === 'object') {
    if (typeof source.setCookie === 'string') return [source.setCookie];
    if (typeof source.set_cookie === 'string') return [source.set_cookie];
    if (Array.isArray(source.headers)) return source.headers;
  }
  return [];
}

// Applies the answer's header lines ("Set-Cookie: ...", "Clear-Site-Data:
// ...") to the response exactly as the helper wrote them: Set-Cookie lines
// are added (a response may set several cookies), other headers set.
export function applyHeaders(res, source) {
  for (const line of headerLines(source)) {
    if (typeof line !== 'string') throw new TypeError('a header line must be a string');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TypeError('not a "Name: value" header line');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
    if (name.toLowerCase() === 'set-cookie') appendHeader(res, name, value);
    else res.setHeader(name, value);
  }
}

function appendHeader(res, name, value) {
  if (typeof res.appendHeader === 'function') {
    res.appendHeader(name, value);
    return;
  }
  const prev = res.getHeader(name);
  if (prev === undefined) res.setHeader(name, [value]);
  else res.setHeader(name, [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
}

function userAgentOf(req) {
  const ua = req.headers?.['user-agent'];
  return typeof ua === 'string' ? ua : '';
}

function attach(req, key, value) {
  if (!req.authguard || typeof req.authguard !== 'object') req.authguard = {};
  req.authguard[key] = value;
}

function defaultRefused(req, res) {
  res.statusCode = 401;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end('Unauthorized\n');
}

// requireSession(ag, { cookieName, attrs, onRefused }):
// reads the session cookie, checks it with the request's User-Agent (and
// attrs(req), the same values the session was created with), and then
//  - valid: sets req.authguard.session (the sessionCheck result: user,
//    sid, expires...), applies the sliding Set-Cookie when the answer has
//    one, and calls next();
//  - refused (no cookie, malformed, unknown, expired, another browser):
//    clears the cookie with the helper's own clearing header, sets
//    req.authguard.refusal (the result, or null without a cookie) and
//    answers 401, or calls onRefused(req, res, result) to answer instead;
//  - the helper failed (status 3, died, timeout, queue full): next(err),
//    which must deny (Express answers 500).
export function requireSession(ag, options = {}) {
  const { cookieName = DEFAULT_COOKIE, attrs, onRefused = defaultRefused } = options;
  return async function authguardSession(req, res, next) {
    const id = readCookie(req, cookieName);
    let result = null;
    if (id !== undefined && id !== '') {
      try {
        result = await ag.sessionCheck({ session: id, userAgent: userAgentOf(req), attrs: attrs?.(req) });
      } catch (err) {
        // A cookie value the helper cannot even read (too long, a NUL):
        // the browser's input, so a refusal, not a server error.
        if (!(err instanceof AuthGuardUsageError && err.error === 'usage' && err.code === 'EAUTHGUARD_USAGE')) {
          return next(err);
        }
        result = { ok: false, status: 1, valid: false, reason: 'malformed', raw: err.answer };
      }
      if (result.valid === true) {
        attach(req, 'session', result);
        if (result.setCookie) applyHeaders(res, result.setCookie);
        return next();
      }
    }
    attach(req, 'refusal', result);
    if (id !== undefined) {
      try {
        applyHeaders(res, await ag.clearCookieHeaders());
      } catch (err) {
        return next(err);
      }
    }
    return onRefused(req, res, result);
  };
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function bearerRefused(req, res, result, realm) {
  const params = [`realm="${realm}"`];
  if (result) {
    params.push('error="invalid_token"');
    if (result.reason) params.push(`error_description="${result.reason}"`);
  }
  res.statusCode = 401;
  res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ error: result ? 'invalid_token' : 'unauthorized', reason: result?.reason ?? null }) + '\n');
}

// requireBearer(ag, { realm, onRefused }): Authorization: Bearer <token>,
// checked with verify (signature, claims, revocation, the session it is
// tied to).  Valid: req.authguard.token is the verify result (claims in
// .claims) and next() is called.  Otherwise 401 with WWW-Authenticate
// (RFC 6750; error_description is the helper's reason, e.g. expired), or
// onRefused(req, res, result).  Helper failures go to next(err).
export function requireBearer(ag, options = {}) {
  const { realm = 'api', onRefused } = options;
  const refuse = onRefused ?? ((req, res, result) => bearerRefused(req, res, result, realm));
  return async function authguardBearer(req, res, next) {
    const m = BEARER.exec(req.headers?.authorization ?? '');
    if (!m) {
      attach(req, 'refusal', null);
      return refuse(req, res, null);
    }
    let result;
    try {
      result = await ag.verify({ token: m[1] });
    } catch (err) {
      if (!(err instanceof AuthGuardUsageError && err.error === 'usage' && err.code === 'EAUTHGUARD_USAGE')) {
        return next(err);
      }
      result = { ok: false, status: 1, valid: false, reason: 'malformed', raw: err.answer };
    }
    if (result.valid === true) {
      attach(req, 'token', result);
      return next();
    }
    attach(req, 'refusal', result);
    return refuse(req, res, result);
  };
}
