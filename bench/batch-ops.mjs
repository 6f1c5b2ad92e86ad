#!/usr/bin/env node
// Batch rate of every op of authguard-token against the one-shot process
// cost of the same op, both through the client package (clients/node):
//
//   batch     one `authguard-token batch` co-process, BENCH_BATCH_N
//             requests kept BENCH_INFLIGHT deep (the client's maxInFlight);
//             requests per second over the whole run, the client's JSON
//             work included
//   one-shot  the command-line form of the op, one process per call,
//             BENCH_ONESHOT_N calls one after the other: ms per call
//             (process start, configuration, keys and state opened, the
//             op, the answer) and the calls per second that makes
//
// Every answer is checked (status and the expected field) before it
// counts.  Ops that the batch helper does not answer yet are reported as
// "unknown op" in the batch column.  A throwaway configuration and state
// in a temporary directory (default policy, but delay_base = 0 so that the
// guard ops are not refused as too early); the helpers of the build are
// copied there first.
//
//   node bench/batch-ops.mjs            # builddir: BENCH_BUILDDIR, default build/dev
//
// Settings: BENCH_BATCH_N (5000), BENCH_ONESHOT_N (200), BENCH_INFLIGHT
// (64), BENCH_OPS (comma-separated subset).

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuthGuard, AuthGuardUnsupportedOpError } from '../clients/node/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const builddir = resolve(process.env.BENCH_BUILDDIR ?? join(here, '../build/dev'));
const BATCH_N = Number(process.env.BENCH_BATCH_N ?? 5000);
const ONESHOT_N = Number(process.env.BENCH_ONESHOT_N ?? 200);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 64);
const ONLY = process.env.BENCH_OPS ? new Set(process.env.BENCH_OPS.split(',')) : null;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) bench';

const tmp = mkdtempSync(join(tmpdir(), 'agbench-'));
chmodSync(tmp, 0o755);
const bin = {};
for (const n of ['authguard-token', 'authguard-ctl', 'authguard-webhook', 'authguard-enroll']) {
  bin[n] = join(tmp, n);
  copyFileSync(join(builddir, 'helpers', n), bin[n]);
  chmodSync(bin[n], 0o755);
}
const conf = join(tmp, 'authguard.conf');
const secret = randomBytes(24);
writeFileSync(join(tmp, 'webhook.secret'), `whsec_${secret.toString('base64')}\n`, { mode: 0o600 });
writeFileSync(conf, [
  `state_file = ${join(tmp, 'state/state.db')}`,
  `secrets_key = ${join(tmp, 'keys/secrets.key')}`,
  `token_keys_dir = ${join(tmp, 'tkeys')}`,
  'token_issuer = https://auth.example.test',
  'token_audience = api.example.test',
  `webhook_secret_file = ${join(tmp, 'webhook.secret')}`,
  'delay_base = 0',
  '',
].join('\n'));
execFileSync(bin['authguard-ctl'], ['--conf', conf, 'init'], { stdio: 'ignore' });
execFileSync(bin['authguard-ctl'], ['--conf', conf, 'keygen'], { stdio: 'ignore' });

const mk = (transport, maxInFlight) => new AuthGuard({
  transport, helper: bin['authguard-token'], webhookHelper: bin['authguard-webhook'], conf,
  maxInFlight, maxQueue: 1e6, timeoutMs: 120000, onStderr: null,
});
const batch = mk('batch', INFLIGHT);
const oneshot = mk('oneshot', 1);
const setup = mk('oneshot', 2); // prepares what a measured op consumes

let seq = 0;
const uniq = () => `${process.pid}-${seq++}`;
function signed(id) {
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: 'session.ended', object: 'event', data: { id: `sess_${id}` } });
  const sig = createHmac('sha256', secret).update(`${id}.${ts}.${body}`).digest('base64');
  return { headers: { 'svix-id': id, 'svix-timestamp': String(ts), 'svix-signature': `v1,${sig}` }, body };
}

// For each op: prep(c, n) returns per-call inputs made with client c (the
// measured transport when it answers the op, else the one-shot one);
// run(c, input) makes one call; ok(result) checks it.
const token = (await setup.issue({ sub: 'bench' })).token;
const checked = await setup.sessionCreate({ user: 'checked', userAgent: UA });
for (let i = 0; i < 4; i++) await setup.sessionCreate({ user: 'listed', userAgent: UA });

const OPS = {
  guard_check: { run: (c) => c.guardCheck({ subject: `g${uniq()}` }), ok: (r) => r.allowed },
  guard_failure: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => {
      const subject = `f${uniq()}`;
      return { subject, attempt: (await c.guardCheck({ subject })).attempt };
    })),
    run: (c, x) => c.guardFailure(x), ok: (r) => r.ok,
  },
  guard_success: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => {
      const subject = `s${uniq()}`;
      return { subject, attempt: (await c.guardCheck({ subject })).attempt };
    })),
    run: (c, x) => c.guardSuccess(x), ok: (r) => r.allowed,
  },
  mfa_verify: { run: (c) => c.mfaVerify({ user: `m${uniq()}`, code: '123456' }), ok: (r) => r.reason === 'not_enrolled' },
  issue: { run: (c) => c.issue({ sub: 'alice' }), ok: (r) => r.ok },
  verify: { run: (c) => c.verify({ token }), ok: (r) => r.valid },
  refresh: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => (await c.issue({ sub: 'r', refresh: true })).refreshToken)),
    run: (c, rt) => c.refresh({ refreshToken: rt }), ok: (r) => r.ok,
  },
  revoke: { run: (c) => c.revoke({ jti: `j${uniq()}` }), ok: (r) => r.revoked },
  jwks: { run: (c) => c.jwks(), ok: (r) => r.keys.length === 1 },
  session_create: { run: (c) => c.sessionCreate({ user: `c${uniq()}`, userAgent: UA }), ok: (r) => r.ok },
  session_check: { run: (c) => c.sessionCheck({ session: checked.session, userAgent: UA }), ok: (r) => r.valid },
  session_rotate: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => (await c.sessionCreate({ user: `o${uniq()}`, userAgent: UA })).session)),
    run: (c, s) => c.sessionRotate({ session: s }), ok: (r) => r.ok,
  },
  session_list: { run: (c) => c.sessionList({ user: 'listed' }), ok: (r) => r.sessions.length === 4 },
  session_end: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => (await c.sessionCreate({ user: `e${uniq()}`, userAgent: UA })).sid)),
    run: (c, sid) => c.sessionEnd({ sid }), ok: (r) => r.sessionsEnded === 1,
  },
  logout: {
    prep: async (c, n) => Promise.all(Array.from({ length: n }, async () => (await c.sessionCreate({ user: `l${uniq()}`, userAgent: UA })).session)),
    run: (c, s) => c.logout({ session: s }), ok: (r) => r.sessionsEnded === 1,
  },
  webhook_receive: {
    prep: async (c, n) => Array.from({ length: n }, () => signed(`msg_${uniq()}`)),
    run: (c, m) => c.webhookReceive(m), ok: (r) => r.valid && r.action === 'sessions_ended',
  },
};

async function supported(op) {
  try {
    await batch.call(op, {});
    return true;
  } catch (e) {
    return !(e instanceof AuthGuardUnsupportedOpError);
  }
}

async function measure(client, spec, n, prepClient, parallel) {
  const inputs = spec.prep ? await spec.prep(prepClient, n) : new Array(n).fill(null);
  const t0 = process.hrtime.bigint();
  let bad = 0;
  if (parallel) {
    const res = await Promise.all(inputs.map((x) => spec.run(client, x)));
    bad = res.filter((r) => !spec.ok(r)).length;
  } else {
    for (const x of inputs) if (!spec.ok(await spec.run(client, x))) bad++;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bad) throw new Error(`${bad} of ${n} answers were not the expected ones`);
  return s;
}

const rows = [];
for (const [op, spec] of Object.entries(OPS)) {
  if (ONLY && !ONLY.has(op)) continue;
  let batchRate = null;
  if (await supported(op)) {
    await measure(batch, spec, Math.min(200, BATCH_N), batch, true); // warm-up
    batchRate = BATCH_N / (await measure(batch, spec, BATCH_N, batch, true));
  }
  await measure(oneshot, spec, 5, setup, false);
  const perCall = (await measure(oneshot, spec, ONESHOT_N, setup, false)) / ONESHOT_N * 1000;
  rows.push({ op, batchRate, perCall });
  process.stderr.write(`${op}: ${batchRate ? Math.round(batchRate) : 'unknown op'} /s batch, ${perCall.toFixed(2)} ms one-shot\n`);
}

await Promise.all([batch.close(), oneshot.close(), setup.close()]);
rmSync(tmp, { recursive: true, force: true });

console.log(`| op | batch, requests/s | one-shot, ms per call | one-shot, calls/s | batch / one-shot |`);
console.log(`|---|---|---|---|---|`);
for (const r of rows) {
  const os = 1000 / r.perCall;
  console.log(`| ${r.op} | ${r.batchRate ? Math.round(r.batchRate) : 'unknown op'} | ${r.perCall.toFixed(2)} | ${Math.round(os)} | ${r.batchRate ? (r.batchRate / os).toFixed(1) : '—'} |`);
}
