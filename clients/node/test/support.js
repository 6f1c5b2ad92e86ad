// Shared set-up of the tests: the helpers built in this tree, a throwaway
// configuration and state in a temporary directory (authguard-ctl init +
// keygen), authguardd on that state for the socket transport (one daemon
// per test time: its clock is the one that counts), and the probe that
// tells which ops the batch helper answers.
//
// Environment: top_builddir (set by `make check`; default ../../build/dev
// from this package), AUTHGUARD_TOKEN / AUTHGUARD_CTL / AUTHGUARD_ENROLL /
// AUTHGUARD_WEBHOOK / AUTHGUARDD to name the binaries one by one.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuthGuard, AuthGuardUnsupportedOpError } from '../index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const builddir = resolve(process.env.top_builddir ?? join(here, '../../../build/dev'));
export const bins = {
  token: process.env.AUTHGUARD_TOKEN ?? join(builddir, 'helpers/authguard-token'),
  ctl: process.env.AUTHGUARD_CTL ?? join(builddir, 'helpers/authguard-ctl'),
  enroll: process.env.AUTHGUARD_ENROLL ?? join(builddir, 'helpers/authguard-enroll'),
  webhook: process.env.AUTHGUARD_WEBHOOK ?? join(builddir, 'helpers/authguard-webhook'),
  daemon: process.env.AUTHGUARDD ?? join(builddir, 'daemon/authguardd'),
};

for (const [name, p] of Object.entries(bins)) {
  if (!existsSync(p)) throw new Error(`helper not built: ${p} (${name}); run make, or set top_builddir`);
}

// Whether the helpers honour AUTHGUARD_TEST_TIME (configure --enable-test-clock).
export const testClock = (() => {
  const h = join(builddir, 'autoconf.h');
  return !existsSync(h) || /^#define AG_TEST_CLOCK 1/m.test(readFileSync(h, 'utf8'));
})();

export const T0 = 1700000000;
export const ISS = 'https://auth.example.test';
export const AUD = 'api.example.test';

// The daemon's settings in every test configuration: as root it stays
// root (there is no authguard user here); otherwise it runs as this user,
// and this user's group is the web group.
function daemonLines() {
  if (process.getuid() === 0) return ['daemon_user = root'];
  return [`daemon_web_group = ${execFileSync('id', ['-gn']).toString().trim()}`];
}

// A fresh configuration, state, secrets key, token key and webhook secret.
// extra: more "key = value" lines.
export function makeState(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'agclient-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'authguard.conf');
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  writeFileSync(join(dir, 'webhook.secret'), `${webhookSecret}\n`, { mode: 0o600 });
  writeFileSync(conf, [
    `state_file = ${join(dir, 'state/state.db')}`,
    `secrets_key = ${join(dir, 'keys/secrets.key')}`,
    `token_keys_dir = ${join(dir, 'tkeys')}`,
    `token_issuer = ${ISS}`,
    `token_audience = ${AUD}`,
    `webhook_secret_file = ${join(dir, 'webhook.secret')}`,
    ...daemonLines(),
    ...extra,
    '',
  ].join('\n'), { mode: 0o644 });
  execFileSync(bins.ctl, ['--conf', conf, 'init'], { stdio: 'pipe' });
  execFileSync(bins.ctl, ['--conf', conf, 'keygen'], { stdio: 'pipe' });
  const st = {
    dir, conf, webhookSecret, daemons: new Map(),
    cleanup() {
      for (const d of st.daemons.values()) d.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return st;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

const running = new Set();
process.on('exit', () => { for (const d of running) d.child.kill('SIGKILL'); });

// Starts authguardd on the state's configuration with its own socket in
// the state's directory, and waits until it listens.  now: its test clock
// (the daemon's clock is the one that counts on the socket transport);
// extra: more arguments.  Returns { socketPath, child, stop(), kill() }.
export function startDaemon(state, { now = T0, socketPath, extra = [] } = {}) {
  const path = socketPath ?? join(state.dir, `d${state.daemons.size}-${now ?? 'real'}.sock`);
  const env = {};
  if (now !== null) env.AUTHGUARD_TEST_TIME = String(now);
  for (const k of ['AUTHGUARD_TEST_MODULE_DIR', 'AUTHGUARD_TEST_SERVICE_DIR']) {
    if (process.env[k]) env[k] = process.env[k];
  }
  const child = spawn(bins.daemon, ['--conf', state.conf, '--socket', path, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'], env,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t) => { stderr += t; });
  const d = {
    socketPath: path, child,
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
    stop() { child.kill('SIGTERM'); running.delete(d); },
    kill() { child.kill('SIGKILL'); running.delete(d); },
  };
  running.add(d);
  // Synchronous, so that a test can make a client at once.  Ready means
  // listening, not only bound: the socket file exists from bind() on (and
  // a killed daemon's file stays behind), while a connect before listen()
  // is refused -- a sanitizer build can sit in between for a while.
  for (let i = 0; i < 1000 && !listening(path); i++) {
    if (child.exitCode !== null) break;
    sleepSync(10);
  }
  if (!listening(path)) {
    d.kill();
    throw new Error(`authguardd did not start: ${stderr}`);
  }
  return d;
}

// Whether a Unix stream socket bound to path is listening: the kernel's
// table of them (/proc/net/unix: the flag __SO_ACCEPTCON, 0x10000, marks a
// listening socket; the path is the last column).
function listening(path) {
  if (!existsSync(path)) return false;
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f.slice(7).join(' ') === path && (parseInt(f[3], 16) & 0x10000) !== 0) return true;
  }
  return false;
}

// The daemon of a state at a test time, started on first use.
export function daemonFor(state, now = T0) {
  const key = String(now);
  if (!state.daemons.has(key)) state.daemons.set(key, startDaemon(state, { now }));
  return state.daemons.get(key);
}

// A client over the real helper, or over the state's daemon with
// transport 'socket'.  now: the test clock (seconds).
export function client(state, { transport = 'batch', now = T0, ...rest } = {}) {
  if (transport === 'socket') {
    return new AuthGuard({
      transport,
      socketPath: state.daemons ? daemonFor(state, now).socketPath : join(state.dir ?? '/nonexistent', 'none.sock'),
      onStderr: null,
      ...rest,
    });
  }
  return new AuthGuard({
    transport,
    helper: bins.token,
    webhookHelper: bins.webhook,
    conf: state.conf,
    env: now === null ? {} : { AUTHGUARD_TEST_TIME: String(now) },
    onStderr: null,
    ...rest,
  });
}

// Runs authguard-enroll (root may name any account); the code on stdin.
export function enroll(state, user, args = [], { stdin = '', now = T0 } = {}) {
  const out = execFileSync(bins.enroll, ['--conf', state.conf, '--user', user, '--json', ...args], {
    input: stdin, env: { AUTHGUARD_TEST_TIME: String(now) }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  return JSON.parse(out.toString());
}

// The TOTP code of a Base32 secret at a time, by oathtool (an
// implementation nobody here wrote), or null when oathtool is missing.
export function totp(secret, at) {
  try {
    return execFileSync('oathtool', ['--totp', '-b', '-N', `@${at}`, secret]).toString().trim();
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

// The ops the batch helper does not know yet ("unknown op"), asked once
// per op with an empty request (a usage error either way: nothing is
// done).  Tests of those ops on the batch transport are skipped with a
// visible message until the helper answers them.
const probed = new Map();
export async function batchLacks(op) {
  if (!probed.has(op)) {
    probed.set(op, (async () => {
      const st = makeState();
      const ag = client(st);
      try {
        await ag.call(op, {});
        return false;
      } catch (e) {
        return e instanceof AuthGuardUnsupportedOpError;
      } finally {
        await ag.close();
        st.cleanup();
      }
    })());
  }
  return probed.get(op);
}

export async function skipUnlessBatch(transport, ...ops) {
  if (transport !== 'batch') return false;
  const missing = [];
  for (const op of ops) if (await batchLacks(op)) missing.push(op);
  return missing.length > 0 ? `authguard-token batch does not answer ${missing.join(', ')} yet (unknown op)` : false;
}

export const TRANSPORTS = ['batch', 'oneshot', 'socket'];
