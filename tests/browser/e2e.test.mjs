// The seed's validations in a real browser: Debian's chromium, headless,
// driven by playwright-core, against the reference application
// (examples/web) on 127.0.0.1, with the helpers built in this tree and a
// throwaway state: the session cookie's flags, a stolen cookie, logout, a
// cross-site POST, the lock and the delays, enrollment and the second
// factor, a Clerk webhook.  Run by tests/browser/browser.sh (which installs
// playwright-core with npm ci and copies the application); see there.
//
// Time: the helpers read the clock from AUTHGUARD_TEST_TIME (test builds),
// fixed for a process's life; the test moves it by restarting the
// application with a later time (same port, same state, same browser), so
// no delay is waited for.  The browser keeps its real clock (cookie
// Max-Age counts from it).
//
// Environment (set by browser.sh): top_builddir, AG_APP_DIR (the copy of
// examples/web, with node_modules), CHROMIUM (default /usr/bin/chromium),
// AG_BROWSER_KEEP=1 keeps the temporary directory (screenshots).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

const builddir = process.env.top_builddir;
const appDir = process.env.AG_APP_DIR;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(builddir && appDir, 'top_builddir and AG_APP_DIR must be set (run tests/browser/browser.sh)');
const bin = (n) => join(builddir, 'helpers', n);
const T0 = 1700000000;
const ISS = 'https://auth.example.test';
const AUD = 'api.example.test';
const UA_A = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 authguard-e2e-A';
const UA_B = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 authguard-e2e-B';
const COOKIE = '__Host-ag_session';
const PW = { 'alice@example.com': 'correct horse battery', 'bob@example.com': 'bobs right password', 'carol@example.com': 'carols password 1' };

const tmp = mkdtempSync(join(tmpdir(), 'agbrowser-'));
chmodSync(tmp, 0o755);
const conf = join(tmp, 'authguard.conf');
let browser;
let app = null; // { child, port, now }
let port = 0;
let transport = 'batch';
const contexts = [];

// ---------------------------------------------------------------- set-up

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts }).toString();
}

const webhookKey = randomBytes(24);

function writeState() {
  writeFileSync(join(tmp, 'webhook.secret'), `whsec_${webhookKey.toString('base64')}\n`, { mode: 0o600 });
  writeFileSync(conf, [
    `state_file = ${join(tmp, 'state/state.db')}`,
    `secrets_key = ${join(tmp, 'keys/secrets.key')}`,
    `token_keys_dir = ${join(tmp, 'tkeys')}`,
    `token_issuer = ${ISS}`,
    `token_audience = ${AUD}`,
    `webhook_secret_file = ${join(tmp, 'webhook.secret')}`,
    'totp_issuer = authguard e2e',
    '',
  ].join('\n'), { mode: 0o644 });
  sh(bin('authguard-ctl'), ['--conf', conf, 'init']);
  sh(bin('authguard-ctl'), ['--conf', conf, 'keygen']);
  for (const [email, pw] of Object.entries(PW)) {
    sh(process.execPath, [join(appDir, 'users.js'), join(tmp, 'users.json'), 'add', email], { input: `${pw}\n` });
  }
}

// The ops the application uses that the batch helper does not answer yet
// (an "unknown op" usage error to an empty request, which does nothing).
function batchLacks() {
  const ops = ['guard_check', 'guard_failure', 'guard_success', 'mfa_verify', 'session_create', 'session_rotate', 'logout'];
  const out = sh(bin('authguard-token'), ['--conf', conf, 'batch'], {
    input: ops.map((op, i) => JSON.stringify({ op, id: i })).join('\n') + '\n',
  });
  return out.trim().split('\n').map((l) => JSON.parse(l)).filter((a) => a.message === 'unknown op').map((a) => ops[a.id]);
}

// Starts (or restarts) the application with the helpers' clock at `now`,
// on the same port as before.
async function startApp(now) {
  await stopApp();
  const child = spawn(process.execPath, [join(appDir, 'server.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      USERS_FILE: join(tmp, 'users.json'),
      AUTHGUARD_CONF: conf,
      AUTHGUARD_TOKEN: bin('authguard-token'),
      AUTHGUARD_ENROLL: bin('authguard-enroll'),
      AUTHGUARD_WEBHOOK: bin('authguard-webhook'),
      AUTHGUARD_TRANSPORT: transport,
      AUTHGUARD_TEST_TIME: String(now),
      AUTHGUARD_ISSUER: 'authguard e2e',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s) => { err += s; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`the application did not start: ${err}`)), 15000);
    child.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`the application exited (${code}): ${err}`)); });
  });
  port = Number(new URL(url).port);
  app = { child, now, url, stderr: () => err };
  return url;
}

async function stopApp() {
  if (!app) return;
  const { child } = app;
  app = null;
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

async function newContext(userAgent = UA_A) {
  const ctx = await browser.newContext({ userAgent });
  contexts.push(ctx);
  return ctx;
}

// Fills and submits the login form; returns the navigation's response.
async function login(page, email, password) {
  await page.goto(`${app.url}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('#login button[type=submit]')]);
  return resp;
}

// The response to the form POST itself (before a redirect).
async function loginPost(page, email, password) {
  await page.goto(`${app.url}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
    page.click('#login button[type=submit]'),
  ]);
  await page.waitForLoadState();
  return resp;
}

const sessionCookie = async (ctx) => (await ctx.cookies()).find((c) => c.name === COOKIE);
const message = (page) => page.locator('#message').innerText();

// Requests from outside any browser, carrying what a thief would carry.
async function fetchApp(path, init = {}) {
  const res = await fetch(`${app.url}${path}`, { redirect: 'manual', ...init });
  return { status: res.status, text: await res.text(), setCookie: res.headers.getSetCookie() };
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}: install it (apt-get install chromium; scripts/install-deps.sh does)`);
  writeState();
  const lacking = batchLacks();
  if (lacking.length > 0) {
    transport = 'oneshot';
    process.stdout.write(`NOTE: authguard-token batch does not answer ${lacking.join(', ')} yet: `
      + 'the application runs with AUTHGUARD_TRANSPORT=oneshot (one helper process per call)\n');
  } else {
    process.stdout.write('the application runs with AUTHGUARD_TRANSPORT=batch\n');
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await startApp(T0);
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stopApp();
  if (process.env.AG_BROWSER_KEEP === '1') process.stdout.write(`# kept ${tmp}\n`);
  else rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- tests

describe('reference application in chromium', { concurrency: 1 }, () => {
  let stolen; // alice's cookie, for the second context

  test('the session cookie is __Host-, HttpOnly, Secure, SameSite=Strict, exactly as the helper wrote it', async () => {
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    let header;
    page.on('response', async (r) => {
      if (r.url().endsWith('/login') && r.request().method() === 'POST') header = await r.headerValue('set-cookie');
    });
    const resp = await login(page, 'alice@example.com', PW['alice@example.com']);
    assert.equal(resp.status(), 200);
    assert.match(await page.locator('#who').innerText(), /Logged in as alice@example\.com/);
    assert.match(header, new RegExp(`^${COOKIE}=ags_[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Strict$`));
    const c = await sessionCookie(ctx);
    assert.ok(c, 'the jar holds the session cookie');
    assert.deepEqual([c.domain, c.path, c.httpOnly, c.secure, c.sameSite], ['127.0.0.1', '/', true, true, 'Strict']);
    assert.equal(`${COOKIE}=${c.value}`, header.split(';')[0], 'stored as sent');
    const seen = await page.evaluate(() => document.cookie);
    assert.ok(!seen.includes('ag_session') && !seen.includes(c.value), 'document.cookie cannot see it');
    stolen = c;
  });

  test('the cookie copied into another browser (another User-Agent) is refused, and the session ends', async () => {
    const thief = await newContext(UA_B);
    await thief.addCookies([stolen]);
    const page = await thief.newPage();
    const resp = await page.goto(`${app.url}/account`);
    assert.equal(resp.status(), 401);
    assert.equal(await sessionCookie(thief), undefined, 'the refusal cleared the copied cookie');
    // The rightful browser: the session ended (session_revoke_on_mismatch).
    const owner = contexts[0];
    const p2 = await owner.newPage();
    const r2 = await p2.goto(`${app.url}/account`);
    assert.equal(r2.status(), 401);
    assert.equal(await sessionCookie(owner), undefined);
  });

  test('logout: the old cookie, the access token and the refresh token are refused, the jar is empty', async () => {
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    await login(page, 'alice@example.com', PW['alice@example.com']);
    await page.click('#get-token');
    await page.waitForFunction(() => document.getElementById('api-out').textContent.includes('access_token'));
    const tokens = await page.evaluate(() => ({ access: sessionStorage.getItem('access_token'), refresh: sessionStorage.getItem('refresh_token') }));
    assert.match(tokens.refresh, /^agr_/);
    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('api-out').textContent.includes('"sub"'));
    assert.match(await page.locator('#api-out').innerText(), /"status": 200/);
    const old = await sessionCookie(ctx);
    assert.ok(old);

    const [resp] = await Promise.all([page.waitForNavigation(), page.click('#logout button[type=submit]')]);
    assert.equal(resp.status(), 200);
    assert.equal(await message(page), 'You are logged out.');
    assert.equal(await sessionCookie(ctx), undefined, 'the jar no longer holds the session');

    const acct = await fetchApp('/account', { headers: { cookie: `${COOKIE}=${old.value}`, 'user-agent': UA_A } });
    assert.equal(acct.status, 401, 'old cookie refused');
    const me = await fetchApp('/api/me', { headers: { authorization: `Bearer ${tokens.access}` } });
    assert.equal(me.status, 401, 'access token refused');
    assert.equal(JSON.parse(me.text).reason, 'revoked');
    const rf = await fetchApp('/api/refresh', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh }),
    });
    assert.deepEqual([rf.status, JSON.parse(rf.text).reason], [401, 'revoked'], 'refresh token refused');
  });

  test('a cross-site POST (a page of another origin, on another port) does not carry the session cookie', async () => {
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    await login(page, 'alice@example.com', PW['alice@example.com']);
    // The attacker: another site (127.0.0.2 is another host than
    // 127.0.0.1) on another port, with a form that posts to the
    // application's token endpoint.
    const evil = createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${app.url}/api/token"></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    await new Promise((r) => evil.listen(0, '127.0.0.2', r));
    try {
      const isToken = (r) => r.url() === `${app.url}/api/token`;
      const cross = page.waitForRequest(isToken);
      await page.goto(`http://127.0.0.2:${evil.address().port}/`);
      const req = await cross;
      const resp = await req.response();
      assert.equal(resp.status(), 401, 'the application saw no session');
      assert.ok(!((await req.allHeaders()).cookie ?? '').includes(COOKIE), 'no session cookie on the cross-site request');
      await page.waitForLoadState();
      assert.ok(await sessionCookie(ctx), 'the browser still holds the session');
      // The same POST from the application's own page carries it.
      await page.goto(`${app.url}/account`);
      const same = page.waitForRequest(isToken);
      const own = await page.evaluate(async () => (await fetch('/api/token', { method: 'POST' })).status);
      assert.equal(own, 200);
      assert.ok(((await (await same).allHeaders()).cookie ?? '').includes(COOKIE), 'a same-origin request carries it');
    } finally {
      evil.close();
    }
  });

  test('10 wrong passwords lock the account; the delays in between are enforced; the 11th, right, is refused', async () => {
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    const email = 'bob@example.com';
    let now = T0;
    for (let n = 1; n <= 10; n++) {
      const r = await loginPost(page, email, 'wrong password');
      assert.equal(r.status(), 401, `attempt ${n}: wrong password`);
      const delay = Math.min(16, 2 ** (n - 1));
      if (n < 10) {
        assert.equal(await message(page), `Wrong e-mail address or password. Next attempt possible in ${delay} second${delay === 1 ? '' : 's'}.`);
        // Right away, even with the right password: refused, not checked.
        const early = await loginPost(page, email, PW[email]);
        assert.equal(early.status(), 429, `attempt ${n}: too early`);
        assert.equal(await early.headerValue('retry-after'), String(delay));
        assert.match(await message(page), new RegExp(`next attempt possible in ${delay} second`));
        now += delay;
        await startApp(now);
      } else {
        assert.match(await message(page), /Too many failed attempts: logins are locked until 2023-11-14 \d\d:\d\d:\d\d UTC\./);
      }
    }
    const r = await loginPost(page, email, PW[email]);
    assert.equal(r.status(), 429, 'the right password is refused while locked');
    assert.equal(await r.headerValue('retry-after'), '3600');
    assert.match(await message(page), /logins to this account are locked until .* \(try again in 60 minutes\)/);
    assert.equal(await sessionCookie(ctx), undefined);
  });

  test('enrollment: QR from a screenshot (zbarimg), code from oathtool, login with the second factor, replay refused', async () => {
    // Past the failure window of the last test: the address's failures
    // (bob's, all from 127.0.0.1) have decayed.
    let now = T0 + 20 * 60;
    await startApp(now);
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    const email = 'carol@example.com';
    await login(page, email, PW[email]);
    await page.goto(`${app.url}/mfa`);
    assert.equal(await page.locator('#mfa-status').innerText(), 'Not enrolled.');
    await Promise.all([page.waitForNavigation(), page.click('#start-enroll')]);
    await page.locator('#qr').waitFor();
    const shot = join(tmp, 'enrollment.png');
    await page.screenshot({ path: shot, fullPage: true });
    const uri = sh('zbarimg', ['--raw', '-q', '--nodbus', shot]).trim();
    assert.match(uri, /^otpauth:\/\/totp\/authguard%20e2e:carol(@|%40)example\.com\?/);
    const secret = new URL(uri).searchParams.get('secret');
    assert.equal(secret, (await page.locator('#secret').innerText()).replace(/ /g, ''), 'the QR holds the key shown');
    const code = (at) => sh('oathtool', ['--totp', '-b', '-N', `@${at}`, secret]).trim();

    const before = await sessionCookie(ctx);
    await page.fill('input[name=code]', code(now));
    await Promise.all([page.waitForNavigation(), page.click('#confirm button[type=submit]')]);
    const backup = await page.locator('#backup-codes li').allInnerTexts();
    assert.equal(backup.length, 10);
    assert.notEqual((await sessionCookie(ctx)).value, before.value, 'the session got a new id (privilege change)');

    // Log out, then in with the password and the next code.
    await page.goto(`${app.url}/account`);
    await Promise.all([page.waitForNavigation(), page.click('#logout button[type=submit]')]);
    now += 30;
    await startApp(now);
    await login(page, email, PW[email]);
    assert.equal(await page.locator('h1').innerText(), 'Verification code');
    assert.equal(await sessionCookie(ctx), undefined, 'no session before the second factor');
    const c1 = code(now);
    await page.fill('input[name=code]', c1);
    const [ok] = await Promise.all([page.waitForNavigation(), page.click('#code button[type=submit]')]);
    assert.equal(ok.status(), 200);
    assert.match(await page.locator('#who').innerText(), /carol@example\.com/);
    assert.ok(await sessionCookie(ctx));

    // The same code again, in another login: refused as replayed.
    await Promise.all([page.waitForNavigation(), page.click('#logout button[type=submit]')]);
    await login(page, email, PW[email]);
    await page.fill('input[name=code]', c1);
    const [again] = await Promise.all([page.waitForNavigation(), page.click('#code button[type=submit]')]);
    assert.equal(again.status(), 401);
    assert.match(await message(page), /^This code was already used\. Wait for the next one \(in \d+ seconds?\)/);
    assert.equal(await sessionCookie(ctx), undefined);

    // A backup code works instead (once).
    await page.fill('input[name=code]', backup[0]);
    const [b] = await Promise.all([page.waitForNavigation(), page.click('#code button[type=submit]')]);
    assert.equal(b.status(), 200);
    assert.ok(await sessionCookie(ctx));
  });

  test('a signed Clerk user.deleted webhook ends the user\'s browser session; replays and forgeries are refused', async () => {
    const ctx = await newContext(UA_A);
    const page = await ctx.newPage();
    await login(page, 'alice@example.com', PW['alice@example.com']);
    const send = (id, body, key = webhookKey) => {
      const ts = String(app.now);
      const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
      return fetchApp('/webhooks/clerk', {
        method: 'POST', body,
        headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': ts, 'svix-signature': `v1,${sig}` },
      });
    };
    const body = JSON.stringify({ type: 'user.deleted', object: 'event', data: { id: 'alice@example.com', deleted: true } });
    const forged = await send('msg_forged', body, randomBytes(24));
    assert.equal(forged.status, 400);
    assert.equal((await page.goto(`${app.url}/account`)).status(), 200, 'a forgery changes nothing');
    const ok = await send('msg_1', body);
    assert.deepEqual([ok.status, JSON.parse(ok.text).action], [200, 'user_sessions_ended']);
    assert.equal((await page.goto(`${app.url}/account`)).status(), 401, 'the browser is logged out');
    const again = await send('msg_1', body);
    assert.equal(again.status, 200, 'a replay is acknowledged (the sender stops retrying) and changes nothing');
  });
});
