#!/usr/bin/env node
// Requests per second of the reference application (examples/web), on
// 127.0.0.1, from a small keep-alive load generator in this process:
//
//   GET  /account   the protected page: requireSession -> session_check
//   GET  /api/me    a bearer-token endpoint: requireBearer -> verify
//   POST /login     guard_check, the password (scrypt), authguard-enroll
//                   --status, guard_success, session_create
//
// each with the client package's batch transport (one supervised helper
// process) and with its one-shot transport (one helper process per call),
// and /api/me also against a plain node:http server that verifies the
// token itself with `jose` (jwtVerify over the helper's JWKS: signature,
// iss, aud, typ, exp -- but no revocation list and no session check).
//
//   node bench/web-app.mjs        # builddir: BENCH_BUILDDIR, default build/dev
//
// Settings: BENCH_SECONDS per run (5), BENCH_CONCURRENCY (8 connections),
// BENCH_MAX (requests per run at most, 200000).  The application's
// dependencies are installed with npm ci in examples/web when missing
// (a link to clients/node); jose@6 with npm into the temporary directory.
// The bench users' scrypt cost is N=1024 (the demo's default is 16384,
// which alone takes tens of ms): the login figure shows the helpers' share.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const builddir = resolve(process.env.BENCH_BUILDDIR ?? join(here, '../build/dev'));
const appDir = join(here, '../examples/web');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 8);
const MAX = Number(process.env.BENCH_MAX ?? 200000);
const UA = 'Mozilla/5.0 (X11; Linux x86_64) bench';

const tmp = mkdtempSync(join(tmpdir(), 'agwebbench-'));
chmodSync(tmp, 0o755);
const bin = (n) => join(tmp, n);
for (const n of ['authguard-token', 'authguard-ctl', 'authguard-webhook', 'authguard-enroll']) {
  copyFileSync(join(builddir, 'helpers', n), bin(n));
  chmodSync(bin(n), 0o755);
}
const conf = join(tmp, 'authguard.conf');
writeFileSync(join(tmp, 'webhook.secret'), `whsec_${Buffer.alloc(24, 7).toString('base64')}\n`, { mode: 0o600 });
writeFileSync(conf, [
  `state_file = ${join(tmp, 'state/state.db')}`,
  `secrets_key = ${join(tmp, 'keys/secrets.key')}`,
  `token_keys_dir = ${join(tmp, 'tkeys')}`,
  'token_issuer = https://auth.example.test',
  'token_audience = api.example.test',
  `webhook_secret_file = ${join(tmp, 'webhook.secret')}`,
  '',
].join('\n'));
execFileSync(bin('authguard-ctl'), ['--conf', conf, 'init'], { stdio: 'ignore' });
execFileSync(bin('authguard-ctl'), ['--conf', conf, 'keygen'], { stdio: 'ignore' });

if (!existsSync(join(appDir, 'node_modules/authguard-client'))) {
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: appDir, stdio: 'inherit' });
}
const { hashPassword } = await import(join(appDir, 'users.js'));
const users = {};
for (let i = 0; i < CONC; i++) users[`bench${i}@example.com`] = { scrypt: await hashPassword('bench password', { N: 1024, r: 8, p: 1 }) };
writeFileSync(join(tmp, 'users.json'), JSON.stringify({ users }));

const josedir = join(tmp, 'jose');
execFileSync('npm', ['install', '--prefix', josedir, '--no-audit', '--no-fund', '--loglevel=error', 'jose@6'], { stdio: 'inherit' });
writeFileSync(join(tmp, 'jwks.json'), execFileSync(bin('authguard-token'), ['--conf', conf, 'jwks']));
writeFileSync(join(josedir, 'server.mjs'), `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';
const jwks = createLocalJWKSet(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const opts = { issuer: 'https://auth.example.test', audience: 'api.example.test', typ: 'at+jwt', algorithms: ['EdDSA'],
  requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'], clockTolerance: 30 };
const srv = createServer(async (req, res) => {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  try {
    const { payload } = await jwtVerify(m?.[1] ?? '', jwks, opts);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ sub: payload.sub, claims: payload }) + '\\n');
  } catch { res.statusCode = 401; res.end(); }
});
srv.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + srv.address().port));
`);

function startServer(args, env) {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolveUrl({ url: m[1], child });
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

function stop(child) {
  return new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
}

const agent = new Agent({ keepAlive: true, maxSockets: CONC });
function call(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolveRes, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// CONC workers, each with its own request maker, for SECONDS (at most MAX
// requests): rate and latency percentiles; any unexpected status fails.
async function load(make, expect) {
  const lat = [];
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONC }, async (_, w) => {
    while (Date.now() < end && n < MAX) {
      n++;
      const { url, opts } = make(w);
      const s = process.hrtime.bigint();
      const r = await call(url, opts);
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (r.status !== expect) throw new Error(`${url}: status ${r.status}, expected ${expect}`);
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  return { rate: lat.length / secs, p50: pct(0.5), p99: pct(0.99) };
}

// Sessions and a token made with the command line (the state is shared),
// so that the protected requests can be measured whatever ops batch has.
const tk = (args, input = '') => JSON.parse(execFileSync(bin('authguard-token'), ['--conf', conf, ...args], { input }).toString());
const cookies = [];
let tok;
for (let w = 0; w < CONC; w++) {
  const s = tk(['session', 'create', '--user', `bench${w}@example.com`, '--user-agent', UA]);
  cookies.push(s.set_cookie.replace(/^Set-Cookie: /, '').split(';')[0]);
  if (w === 0) tok = tk(['issue', '--sub', 'bench0@example.com', '--sid', s.sid]).token;
}
const lacking = execFileSync(bin('authguard-token'), ['--conf', conf, 'batch'], {
  input: ['guard_check', 'guard_success', 'session_create'].map((op) => JSON.stringify({ op })).join('\n') + '\n',
}).toString().trim().split('\n').map((l, i) => (JSON.parse(l).message === 'unknown op' ? i : -1)).filter((i) => i >= 0);

const form = (w) => `email=bench${w}%40example.com&password=bench+password`;

async function appRuns(transport) {
  const { url, child } = await startServer([join(appDir, 'server.js')], {
    PORT: '0', USERS_FILE: join(tmp, 'users.json'), AUTHGUARD_CONF: conf, AUTHGUARD_TRANSPORT: transport,
    AUTHGUARD_TOKEN: bin('authguard-token'), AUTHGUARD_ENROLL: bin('authguard-enroll'), AUTHGUARD_WEBHOOK: bin('authguard-webhook'),
  });
  try {
    const out = {};
    out.account = await load((w) => ({ url: `${url}/account`, opts: { headers: { cookie: cookies[w], 'user-agent': UA } } }), 200);
    out.me = await load(() => ({ url: `${url}/api/me`, opts: { headers: { authorization: `Bearer ${tok}` } } }), 200);
    if (transport === 'batch' && lacking.length > 0) {
      out.login = null; // the batch helper cannot serve a login yet
      return { out };
    }
    out.login = await load((w) => ({
      url: `${url}/login`,
      opts: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }, body: form(w) },
    }), 303);
    return { out };
  } finally {
    await stop(child);
  }
}

const batch = await appRuns('batch');
const oneshot = await appRuns('oneshot');
const { url: joseUrl, child: joseChild } = await startServer([join(josedir, 'server.mjs'), join(tmp, 'jwks.json')], {});
const jose = await load(() => ({ url: `${joseUrl}/api/me`, opts: { headers: { authorization: `Bearer ${tok}` } } }), 200);
await stop(joseChild);
agent.destroy();
rmSync(tmp, { recursive: true, force: true });

const row = (what, cfg, r) => console.log(r
  ? `| ${what} | ${cfg} | ${Math.round(r.rate)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`
  : `| ${what} | ${cfg} | n/a: batch has no guard ops yet | | |`);
console.log(`${CONC} connections, ${SECONDS} s per run`);
console.log('| request | configuration | requests/s | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|');
row('GET /account', 'client, batch', batch.out.account);
row('GET /account', 'client, one-shot', oneshot.out.account);
row('GET /api/me', 'client, batch', batch.out.me);
row('GET /api/me', 'client, one-shot', oneshot.out.me);
row('GET /api/me', 'jose in the app', jose);
row('POST /login', 'client, batch', batch.out.login);
row('POST /login', 'client, one-shot', oneshot.out.login);
