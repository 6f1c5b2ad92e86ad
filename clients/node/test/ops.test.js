// Every op against the real authguard-token (and authguard-webhook) built in
// this tree, with a throwaway configuration and state, over the three
// transports (the socket one through authguardd, started on the same
// state).  Ops that the batch helper does not answer yet are skipped on
// the batch transport with a visible message (support.js, skipUnlessBatch);
// the one-shot and socket transports run them all.

import assert from 'node:assert/strict';
import { createHmac, verify as cryptoVerify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  AuthGuardHelperExitedError,
  AuthGuardUnavailableError,
  AuthGuardUsageError,
} from '../index.js';
import {
  AUD, ISS, T0, TRANSPORTS, client, enroll, makeState, skipUnlessBatch, testClock, totp,
} from './support.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const UA2 = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CLEAR = 'Set-Cookie: __Host-ag_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict';
const SESSION = /^ags_[A-Za-z0-9_-]{43}$/;
const REFRESH = /^agr_[A-Za-z0-9_-]{43}$/;

function svixSign(secret, id, ts, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
}

// Checks an EdDSA token against the JWKS with node:crypto: a verifier
// nobody here wrote.
function jwksVerifies(keys, token) {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk || header.alg !== 'EdDSA') return false;
  return cryptoVerify(null, Buffer.from(`${h}.${p}`), { key: jwk, format: 'jwk' }, Buffer.from(s, 'base64url'));
}

for (const transport of TRANSPORTS) {
  describe(`ops over the ${transport} transport (${transport === 'socket' ? 'real authguardd' : 'real helper'})`, () => {
    let st;
    const open = [];
    const ag = (opts = {}) => {
      const c = client(st, { transport, ...opts });
      open.push(c);
      return c;
    };
    before(() => { st = makeState(['delay_base = 0']); });
    after(async () => {
      await Promise.all(open.map((c) => c.close()));
      st.cleanup();
    });

    test('issue, verify, refresh, revoke, jwks', async () => {
      const c = ag();
      const i = await c.issue({ sub: 'alice', refresh: true, claims: { role: 'admin' }, ttl: 300 });
      assert.equal(i.ok, true);
      assert.equal(i.status, 0);
      assert.equal(i.exp, T0 + 300);
      assert.match(i.refreshToken, REFRESH);
      assert.equal(i.raw.refresh_token, i.refreshToken, 'the raw answer is kept');

      const v = await c.verify({ token: i.token });
      assert.equal(v.valid, true);
      assert.deepEqual([v.claims.iss, v.claims.aud, v.claims.sub, v.claims.role, v.claims.jti],
        [ISS, AUD, 'alice', 'admin', i.jti]);

      const j = await c.jwks();
      assert.equal(j.keys.length, 1);
      assert.equal(jwksVerifies(j.keys, i.token), true, 'node:crypto verifies the token with the JWKS');

      const r = await c.refresh({ refreshToken: i.refreshToken });
      assert.equal(r.ok, true);
      assert.equal(r.sub, 'alice');
      assert.match(r.refreshToken, REFRESH);
      assert.notEqual(r.refreshToken, i.refreshToken);
      const again = await c.refresh({ refreshToken: i.refreshToken });
      assert.deepEqual([again.ok, again.status, again.valid, again.reason], [false, 1, false, 'reused']);
      const dead = await c.refresh({ refreshToken: r.refreshToken });
      assert.equal(dead.reason, 'revoked', 'reuse revoked the whole family');

      const rv = await c.revoke({ token: i.token });
      assert.deepEqual([rv.revoked, rv.jti], [true, i.jti]);
      const v2 = await c.verify({ token: i.token });
      assert.deepEqual([v2.ok, v2.valid, v2.reason], [false, false, 'revoked']);

      const k = await c.issue({ sub: 'alice' });
      assert.equal((await c.revoke({ jti: k.jti })).revoked, true);
      assert.equal((await c.verify({ token: k.token })).reason, 'revoked');

      const f = await c.issue({ sub: 'bob', refresh: true });
      const rf = await c.revoke({ refreshToken: f.refreshToken, family: true });
      assert.deepEqual([rf.revoked, rf.families], [true, 1]);
      assert.equal((await c.refresh({ refreshToken: f.refreshToken })).reason, 'revoked');

      await c.issue({ sub: 'carol', refresh: true });
      await c.issue({ sub: 'carol', refresh: true });
      assert.equal((await c.revoke({ user: 'carol' })).families, 2);

      await assert.rejects(c.verify({ token: '' }), (e) => e instanceof AuthGuardUsageError && e.status === 2);
      await assert.rejects(c.issue({ sub: 'x', claims: { sub: 'y' } }), AuthGuardUsageError);
      const mal = await c.verify({ token: 'not-a-token' });
      assert.deepEqual([mal.ok, mal.reason], [false, 'malformed']);
    });

    test('a token expires on the helper\'s clock', { skip: !testClock && 'needs --enable-test-clock' }, async () => {
      const i = await ag().issue({ sub: 'alice', ttl: 60 });
      const v = await ag({ now: T0 + 3600 }).verify({ token: i.token });
      assert.equal(v.reason, 'expired');
    });

    test('session_check: valid, another browser refused', async () => {
      // session_create is not in the batch protocol before every op is:
      // the session comes from the one-shot transport when batch lacks it.
      const c = ag();
      const maker = (await skipUnlessBatch(transport, 'session_create')) ? ag({ transport: 'oneshot' }) : c;
      const s = await maker.sessionCreate({ user: 'dave', userAgent: UA });
      const ok = await c.sessionCheck({ session: s.session, userAgent: UA });
      assert.deepEqual([ok.ok, ok.valid, ok.user, ok.sid], [true, true, 'dave', s.sid]);
      assert.equal(typeof ok.idleExpires, 'number');
      const stolen = await c.sessionCheck({ session: s.session, userAgent: UA2 });
      assert.deepEqual([stolen.ok, stolen.reason], [false, 'fingerprint_mismatch']);
      const after = await c.sessionCheck({ session: s.session, userAgent: UA });
      assert.equal(after.reason, 'unknown', 'the mismatch ended the session (session_revoke_on_mismatch)');
      const mal = await c.sessionCheck({ session: 'ags_short', userAgent: UA });
      assert.equal(mal.reason, 'malformed');
    });

    test('session_create, rotate, list, end', async (t) => {
      const skip = await skipUnlessBatch(transport, 'session_create', 'session_rotate', 'session_list', 'session_end');
      if (skip) return t.skip(skip);
      const c = ag();
      const s = await c.sessionCreate({ user: 'erin', userAgent: UA, attrs: ['en-GB'] });
      assert.equal(s.ok, true);
      assert.match(s.session, SESSION);
      assert.equal(s.setCookie,
        `Set-Cookie: __Host-ag_session=${s.session}; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Strict`);
      assert.deepEqual([s.user, s.created, s.evicted, s.clerkSession], ['erin', T0, 0, null]);
      assert.equal((await c.sessionCheck({ session: s.session, userAgent: UA })).reason,
        'fingerprint_mismatch', 'attrs are part of the fingerprint');

      const s2 = await c.sessionCreate({ user: 'erin', userAgent: UA });
      const rot = await c.sessionRotate({ session: s2.session });
      assert.match(rot.session, SESSION);
      assert.notEqual(rot.session, s2.session);
      assert.equal((await c.sessionCheck({ session: s2.session, userAgent: UA })).reason, 'unknown');
      assert.equal((await c.sessionCheck({ session: rot.session, userAgent: UA })).valid, true);

      const s3 = await c.sessionCreate({ user: 'erin', userAgent: UA });
      const l = await c.sessionList({ user: 'erin' });
      assert.equal(l.user, 'erin');
      assert.deepEqual(l.sessions.map((x) => x.sid).sort(), [rot.sid, s3.sid].sort());
      assert.equal(typeof l.sessions[0].lastSeen, 'number', 'list entries are camelCase too');
      assert.ok(!JSON.stringify(l.raw).includes('ags_'), 'ids are never listed');

      assert.deepEqual(await c.sessionEnd({ sid: s3.sid }).then((r) => [r.ok, r.sessionsEnded]), [true, 1]);
      assert.equal((await c.sessionEnd({ session: rot.session })).sessionsEnded, 1);
      await c.sessionCreate({ user: 'erin', userAgent: UA });
      await c.sessionCreate({ user: 'erin', userAgent: UA });
      assert.equal((await c.sessionEnd({ user: 'erin' })).sessionsEnded, 2);
      assert.equal((await c.sessionList({ user: 'erin' })).sessions.length, 0);

      const lim = await c.sessionCreate({ user: 'x'.repeat(5000), userAgent: UA }).catch((e) => e);
      assert.ok(lim instanceof AuthGuardUsageError, 'a user over 4096 bytes is a usage error');
    });

    test('a token tied to a session dies with it', async (t) => {
      const skip = await skipUnlessBatch(transport, 'session_create', 'session_end');
      if (skip) return t.skip(skip);
      const c = ag();
      const s = await c.sessionCreate({ user: 'fay', userAgent: UA });
      const i = await c.issue({ sub: 'fay', sid: s.sid, refresh: true });
      assert.equal((await c.verify({ token: i.token })).claims.sid, s.sid);
      await c.sessionEnd({ sid: s.sid });
      assert.equal((await c.verify({ token: i.token })).reason, 'session_ended');
      assert.equal((await c.refresh({ refreshToken: i.refreshToken })).reason, 'revoked');
      const late = await c.issue({ sub: 'fay', sid: s.sid });
      assert.deepEqual([late.ok, late.reason], [false, 'session_ended']);
    });

    test('logout: cookie cleared, session, access token and refresh family refused', async (t) => {
      const skip = await skipUnlessBatch(transport, 'session_create', 'logout');
      if (skip) return t.skip(skip);
      const c = ag();
      const s = await c.sessionCreate({ user: 'gus', userAgent: UA });
      const i = await c.issue({ sub: 'gus', sid: s.sid, refresh: true });
      const lo = await c.logout({ session: s.session, token: i.token, refreshToken: i.refreshToken });
      assert.deepEqual([lo.ok, lo.loggedOut, lo.sessionsEnded, lo.familiesRevoked, lo.accessTokenRevoked],
        [true, true, 1, 1, true]);
      assert.deepEqual(lo.headers, [CLEAR, 'Clear-Site-Data: "cookies", "storage"']);
      assert.equal((await c.sessionCheck({ session: s.session, userAgent: UA })).reason, 'unknown');
      assert.equal((await c.verify({ token: i.token })).reason, 'revoked');
      assert.equal((await c.refresh({ refreshToken: i.refreshToken })).reason, 'revoked');
      const twice = await c.logout({ session: s.session });
      assert.deepEqual([twice.ok, twice.sessionsEnded], [true, 0]);
      assert.deepEqual(await c.clearCookieHeaders(), [CLEAR]);
      await assert.rejects(c.logout({}), AuthGuardUsageError);
    });

    test('guard: check, failure (delay), success; lock after 10 failures', async (t) => {
      const skip = await skipUnlessBatch(transport, 'guard_check', 'guard_failure', 'guard_success');
      if (skip) return t.skip(skip);
      // A configuration with the default delays, for the delay part.
      const st2 = makeState();
      try {
        const c = client(st2, { transport });
        open.push(c);
        const g = await c.guardCheck({ subject: 'hal@example.com', ip: '192.0.2.7' });
        assert.deepEqual([g.ok, g.allowed, g.reason, g.retryAfter, g.failures, g.hostFailures],
          [true, true, null, 0, 1, 1]);
        assert.ok(Number.isSafeInteger(g.attempt) && g.attempt > 0);
        const f = await c.guardFailure({ subject: 'hal@example.com', ip: '192.0.2.7', attempt: g.attempt });
        assert.deepEqual([f.ok, f.retryAfter, f.failures, f.lockedUntil], [true, 1, 1, null]);
        const early = await c.guardCheck({ subject: 'hal@example.com', ip: '192.0.2.7' });
        assert.deepEqual([early.ok, early.status, early.allowed, early.reason, early.retryAfter],
          [false, 1, false, 'too_early', 1]);
        if (testClock) {
          const c1 = client(st2, { transport, now: T0 + 1 });
          open.push(c1);
          const g2 = await c1.guardCheck({ subject: 'hal@example.com', ip: '192.0.2.7' });
          assert.equal(g2.allowed, true);
          const s = await c1.guardSuccess({ subject: 'hal@example.com', ip: '192.0.2.7', attempt: g2.attempt });
          assert.deepEqual([s.ok, s.allowed], [true, true]);
        }
      } finally {
        st2.cleanup();
      }

      // delay_base = 0 (this describe's state): ten failures lock.
      const c = ag();
      for (let n = 1; n <= 10; n++) {
        const g = await c.guardCheck({ subject: 'ida', ip: '192.0.2.8' });
        assert.equal(g.allowed, true, `attempt ${n} allowed`);
        const f = await c.guardFailure({ subject: 'ida', ip: '192.0.2.8', attempt: g.attempt });
        if (n === 10) assert.deepEqual([f.lockedUntil, f.retryAfter], [T0 + 3600, 3600]);
      }
      const locked = await c.guardCheck({ subject: 'ida', ip: '192.0.2.8' });
      assert.deepEqual([locked.ok, locked.reason, locked.retryAfter, locked.lockedUntil, locked.failures],
        [false, 'locked', 3600, T0 + 3600, 10]);
      await assert.rejects(c.guardCheck({ subject: 'x', ip: 'not-an-ip' }), AuthGuardUsageError);
    });

    test('mfa_verify: TOTP (computed by oathtool), replay, wrong, backup code, not enrolled', async (t) => {
      const skip = await skipUnlessBatch(transport, 'mfa_verify');
      if (skip) return t.skip(skip);
      const start = enroll(st, 'jo@example.com');
      const code0 = totp(start.secret, T0);
      if (code0 === null) return t.skip('oathtool not installed');
      const conf = enroll(st, 'jo@example.com', ['--confirm'], { stdin: `${code0}\n` });
      assert.equal(conf.enrolled, true);
      const c = ag({ now: T0 + 30 });
      const code1 = totp(start.secret, T0 + 30);
      const ok = await c.mfaVerify({ user: 'jo@example.com', code: code1, ip: '192.0.2.9' });
      assert.deepEqual([ok.ok, ok.valid, ok.method, ok.backupCodesLeft], [true, true, 'totp', 10]);
      const replay = await c.mfaVerify({ user: 'jo@example.com', code: code1 });
      assert.deepEqual([replay.ok, replay.reason], [false, 'replayed']);
      assert.ok(replay.retryAfter >= 0 && replay.retryAfter <= 30);
      const wrong = await c.mfaVerify({ user: 'jo@example.com', code: code1 === '000000' ? '111111' : '000000' });
      assert.deepEqual([wrong.reason, wrong.failures], ['wrong', 1]);
      const backup = await c.mfaVerify({ user: 'jo@example.com', code: conf.backup_codes[0].toLowerCase() });
      assert.deepEqual([backup.valid, backup.method, backup.backupCodesLeft], [true, 'backup', 9]);
      const reused = await c.mfaVerify({ user: 'jo@example.com', code: conf.backup_codes[0] });
      assert.equal(reused.reason, 'wrong');
      const none = await c.mfaVerify({ user: 'kim@example.com', code: '123456' });
      assert.equal(none.reason, 'not_enrolled');
      assert.equal((await c.mfaVerify({ user: 'jo@example.com', code: '12' })).reason, 'malformed');
    });

    test('webhook_receive: a signed Clerk session.revoked ends the linked session; replay and forgery refused',
      { skip: !testClock && 'needs --enable-test-clock' }, async (t) => {
        const skip = await skipUnlessBatch(transport, 'session_create', 'webhook_receive');
        if (skip) return t.skip(skip);
        const c = ag();
        const s = await c.sessionCreate({ user: 'user_2abc', userAgent: UA, clerkSession: 'sess_2xyz' });
        assert.equal(s.clerkSession, 'sess_2xyz');
        const body = JSON.stringify({ type: 'session.revoked', object: 'event', data: { id: 'sess_2xyz' } });
        const headers = {
          'svix-id': 'msg_1', 'svix-timestamp': String(T0), 'svix-signature': svixSign(st.webhookSecret, 'msg_1', T0, body),
        };
        const r = await c.webhookReceive({ headers, body: Buffer.from(body) });
        assert.deepEqual([r.ok, r.valid, r.messageId, r.type, r.action, r.sessionsEnded],
          [true, true, 'msg_1', 'session.revoked', 'sessions_ended', 1]);
        assert.equal((await c.sessionCheck({ session: s.session, userAgent: UA })).reason, 'unknown');
        const again = await c.webhookReceive({ headers, body });
        assert.deepEqual([again.ok, again.reason], [false, 'replayed']);
        const forged = await c.webhookReceive({ headers: { ...headers, 'svix-id': 'msg_2' }, body });
        assert.deepEqual([forged.ok, forged.reason], [false, 'bad_signature']);
        const stale = await ag({ now: T0 + 3600 }).webhookReceive({ headers: { ...headers, 'svix-id': 'msg_3' }, body });
        assert.equal(stale.reason, 'stale_timestamp');
        await assert.rejects(c.webhookReceive({ headers, body: Buffer.from([0xff, 0xfe]) }), AuthGuardUsageError);
      });

    test('a configuration that does not exist: every call denied, with the helper\'s message', async () => {
      const c = client({ conf: '/nonexistent/authguard.conf' }, { transport, maxRestartDelayMs: 200 });
      open.push(c);
      const err = await c.jwks().catch((e) => e);
      if (transport === 'socket') {
        // (no daemon can start on it: the socket names no daemon)
        assert.ok(err instanceof AuthGuardUnavailableError, err);
        assert.equal(err.cause.code, 'ENOENT');
      } else if (transport === 'batch') {
        assert.ok(err instanceof AuthGuardHelperExitedError, err);
        assert.equal(err.exitCode, 2);
        assert.match(err.stderr, /nonexistent/);
      } else {
        assert.ok(err instanceof AuthGuardUsageError, err);
        assert.match(err.message, /nonexistent/);
      }
    });
  });
}
