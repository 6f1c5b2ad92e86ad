// requireSession, requireBearer, applyHeaders and readCookie over a real
// node:http server and the real helper.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { applyHeaders, readCookie, requireBearer, requireSession } from '../index.js';
import { TRANSPORTS, client, makeState, skipUnlessBatch } from './support.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0';
const UA2 = 'Mozilla/5.0 (Windows NT 10.0) Thief/2.0';
const CLEAR = '__Host-ag_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict';

test('readCookie: the named cookie among others, undefined when absent', () => {
  const req = { headers: { cookie: 'a=1; __Host-ag_session=ags_x; b=2' } };
  assert.equal(readCookie(req), 'ags_x');
  assert.equal(readCookie('x=1;__Host-ag_session = v ', '__Host-ag_session'), 'v');
  assert.equal(readCookie({ headers: {} }), undefined);
  assert.equal(readCookie('ag_session=v'), undefined, 'the prefix is part of the name');
  assert.equal(readCookie('__Host-ag_session=first; __Host-ag_session=second'), 'first');
});

test('applyHeaders: lines as given, several Set-Cookie kept, other headers set', () => {
  const headers = {};
  const res = {
    getHeader: (n) => headers[n.toLowerCase()],
    setHeader: (n, v) => { headers[n.toLowerCase()] = v; },
  };
  applyHeaders(res, 'Set-Cookie: a=1; Path=/; HttpOnly');
  applyHeaders(res, { headers: ['Set-Cookie: b=; Max-Age=0', 'Clear-Site-Data: "cookies", "storage"'] });
  applyHeaders(res, { setCookie: 'Set-Cookie: c=3' });
  applyHeaders(res, undefined);
  assert.deepEqual(headers['set-cookie'], ['a=1; Path=/; HttpOnly', 'b=; Max-Age=0', 'c=3']);
  assert.equal(headers['clear-site-data'], '"cookies", "storage"');
  assert.throws(() => applyHeaders(res, 'no colon here'), TypeError);
});

// A server whose / is protected by `mw`; answers the user it saw.
function serve(mw) {
  const server = createServer((req, res) => {
    mw(req, res, (err) => {
      if (err) {
        res.statusCode = 500;
        res.end(`error: ${err.code}\n`);
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({
        user: req.authguard.session?.user ?? req.authguard.token?.claims?.sub,
        sid: req.authguard.session?.sid,
      }));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

async function get(server, headers) {
  const { port } = server.address();
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers });
  return { status: res.status, setCookie: res.headers.getSetCookie(), www: res.headers.get('www-authenticate'), body: await res.text() };
}

for (const transport of TRANSPORTS) {
  describe(`middleware over the ${transport} transport (real helper)`, () => {
    let st;
    let ag;
    let maker; // sessions come from the one-shot transport while batch has no session_create
    let sessionSrv;
    let bearerSrv;
    before(async () => {
      st = makeState();
      ag = client(st, { transport });
      maker = (await skipUnlessBatch(transport, 'session_create')) ? client(st, { transport: 'oneshot' }) : ag;
      sessionSrv = await serve(requireSession(ag));
      bearerSrv = await serve(requireBearer(ag));
    });
    after(async () => {
      sessionSrv.close();
      bearerSrv.close();
      await ag.close();
      await maker.close();
      st.cleanup();
    });

    test('requireSession: a valid session cookie passes, req.authguard.session is set', async () => {
      const s = await maker.sessionCreate({ user: 'alice', userAgent: UA });
      const r = await get(sessionSrv, { cookie: `x=1; __Host-ag_session=${s.session}`, 'user-agent': UA });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { user: 'alice', sid: s.sid });
    });

    test('requireSession: no cookie is 401 and sets no cookie', async () => {
      const r = await get(sessionSrv, { 'user-agent': UA });
      assert.equal(r.status, 401);
      assert.deepEqual(r.setCookie, []);
    });

    test('requireSession: a cookie from another browser is 401, cleared, and the session ended', async (t) => {
      const skip = await skipUnlessBatch(transport, 'logout');
      if (skip) return t.skip(`${skip} (the clearing header comes from logout)`);
      const s = await maker.sessionCreate({ user: 'bob', userAgent: UA });
      const stolen = await get(sessionSrv, { cookie: `__Host-ag_session=${s.session}`, 'user-agent': UA2 });
      assert.equal(stolen.status, 401);
      assert.deepEqual(stolen.setCookie, [CLEAR]);
      const owner = await get(sessionSrv, { cookie: `__Host-ag_session=${s.session}`, 'user-agent': UA });
      assert.equal(owner.status, 401, 'the session ended (session_revoke_on_mismatch)');
      assert.deepEqual(owner.setCookie, [CLEAR]);
      const junk = await get(sessionSrv, { cookie: `__Host-ag_session=${'A'.repeat(300)}`, 'user-agent': UA });
      assert.equal(junk.status, 401, 'a cookie value the helper cannot read is a refusal, not an error');
      assert.deepEqual(junk.setCookie, [CLEAR]);
    });

    test('requireBearer: valid passes with the claims; missing, malformed, revoked are 401 (RFC 6750)', async () => {
      const i = await ag.issue({ sub: 'carol' });
      const ok = await get(bearerSrv, { authorization: `Bearer ${i.token}` });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).user, 'carol');
      const none = await get(bearerSrv, {});
      assert.deepEqual([none.status, none.www], [401, 'Bearer realm="api"']);
      const bad = await get(bearerSrv, { authorization: 'Bearer abc.def.ghi' });
      assert.deepEqual([bad.status, bad.www], [401, 'Bearer realm="api", error="invalid_token", error_description="malformed"']);
      const basic = await get(bearerSrv, { authorization: 'Basic dXNlcjpwYXNz' });
      assert.equal(basic.status, 401);
      await ag.revoke({ token: i.token });
      const revoked = await get(bearerSrv, { authorization: `Bearer ${i.token}` });
      assert.deepEqual([revoked.status, JSON.parse(revoked.body).reason], [401, 'revoked']);
      const huge = await get(bearerSrv, { authorization: `Bearer ${'a'.repeat(12000)}` });
      assert.deepEqual([huge.status, JSON.parse(huge.body).reason], [401, 'too_large']);
    });

    test('a helper that fails is next(err), never a pass', async () => {
      const broken = client({ conf: '/nonexistent.conf' }, { transport, maxRestartDelayMs: 100 });
      const srv = await serve(requireBearer(broken));
      try {
        const r = await get(srv, { authorization: 'Bearer a.b.c' });
        if (transport === 'batch') {
          assert.equal(r.status, 500);
          assert.match(r.body, /^error: EAUTHGUARD_HELPER_EXITED/);
        } else {
          // On the command line a configuration error prints only a
          // message, as bad input does: the one-shot transport cannot tell
          // them apart, and denies either way.
          assert.ok(r.status === 401 || r.status === 500, r.status);
        }
      } finally {
        srv.close();
        await broken.close();
      }
    });
  });
}
