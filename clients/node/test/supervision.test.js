// Supervision of the batch co-process, against a fake helper that crashes,
// stalls, answers garbage or answers slowly on request
// (fixtures/fake-helper.mjs): in-flight requests fail cleanly and at once,
// the helper is restarted, timeouts and back-pressure hold, nothing hangs.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  AuthGuard,
  AuthGuardClosedError,
  AuthGuardHelperExitedError,
  AuthGuardInternalError,
  AuthGuardProtocolError,
  AuthGuardQueueFullError,
  AuthGuardTimeoutError,
  AuthGuardUnavailableError,
  AuthGuardUnsupportedOpError,
  AuthGuardUsageError,
} from '../index.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'agfake-'));
const FAKE = join(tmp, 'authguard-token');
writeFileSync(FAKE, `#!/bin/sh\nexec '${process.execPath}' '${join(here, 'fixtures/fake-helper.mjs')}' "$@"\n`);
chmodSync(FAKE, 0o755);
after(() => rmSync(tmp, { recursive: true, force: true }));

const clients = [];
function fake(opts = {}) {
  const ag = new AuthGuard({ helper: FAKE, conf: '/etc/fake.conf', onStderr: null, timeoutMs: 5000, ...opts });
  clients.push(ag);
  return ag;
}
after(async () => { await Promise.all(clients.map((c) => c.close({ timeoutMs: 500 }))); });

const once = (em, ev) => new Promise((r) => em.once(ev, r));

describe('batch supervision (fake helper)', () => {
  test('answers are matched to requests in order, many in flight', async () => {
    const ag = fake({ maxInFlight: 16 });
    const got = await Promise.all(Array.from({ length: 500 }, (_, n) => ag.call('echo', { n })));
    assert.deepEqual(got.map((a) => a.n), Array.from({ length: 500 }, (_, n) => n));
    assert.equal(ag.stats().inFlight, 0);
  });

  test('status 1 is a result, 2 and 3 throw typed errors, unknown op is recognisable', async () => {
    const ag = fake();
    const r1 = await ag.call('status', { want: 1 });
    assert.equal(r1.status, 1);
    await assert.rejects(ag.call('status', { want: 2 }), (e) => e instanceof AuthGuardUsageError && e.status === 2);
    await assert.rejects(ag.call('status', { want: 3 }), (e) => e instanceof AuthGuardInternalError && e.status === 3);
    await assert.rejects(ag.call('unknown', {}), AuthGuardUnsupportedOpError);
  });

  test('argv is --conf FILE batch only, the environment only what was given', async () => {
    const ag = fake({ env: { AUTHGUARD_TEST_TIME: '1700000000' } });
    assert.deepEqual((await ag.call('argv')).argv, ['--conf', '/etc/fake.conf', 'batch']);
    const env = (await ag.call('env')).env;
    // (sh adds PWD to the environment of the node it execs)
    delete env.PWD;
    assert.deepEqual(env, { AUTHGUARD_TEST_TIME: '1700000000' });
  });

  test('a crash mid-request fails every request in flight at once, then a new helper serves', async () => {
    const ag = fake({ maxInFlight: 8 });
    const pid1 = (await ag.call('pid')).pid;
    const t0 = Date.now();
    const inflight = [ag.call('slow', { ms: 50 }), ag.call('crash'), ag.call('echo', { n: 1 }), ag.call('echo', { n: 2 })];
    const settled = await Promise.allSettled(inflight);
    assert.equal(settled[0].status, 'fulfilled', 'answered before the crash');
    for (const s of settled.slice(1)) {
      assert.equal(s.status, 'rejected');
      assert.ok(s.reason instanceof AuthGuardHelperExitedError, s.reason);
      assert.equal(s.reason.exitCode, 3);
    }
    assert.ok(Date.now() - t0 < 2000, 'failed at once, not by a timeout');
    const pid2 = (await ag.call('pid')).pid;
    assert.notEqual(pid2, pid1, 'restarted');
    assert.equal(ag.stats().spawned, 2);
  });

  test('an answer without an id (a line the helper could not read) is matched by order', async () => {
    const ag = fake();
    const [a, b, c] = await Promise.allSettled([ag.call('echo', { n: 1 }), ag.call('noid'), ag.call('echo', { n: 3 })]);
    assert.equal(a.value.n, 1);
    assert.ok(b.reason instanceof AuthGuardUsageError);
    assert.equal(b.reason.answer.message, 'request too long');
    assert.equal(c.value.n, 3);
  });

  test('a slow answer times out; the stuck helper is replaced and the requests behind it fail', async () => {
    const ag = fake();
    const pid1 = (await ag.call('pid')).pid;
    const exited = once(ag, 'exit');
    const t0 = Date.now();
    const [hung, behind] = await Promise.allSettled([
      ag.call('hang', {}, { timeoutMs: 200 }),
      ag.call('echo', { n: 1 }, { timeoutMs: 5000 }),
    ]);
    assert.ok(hung.reason instanceof AuthGuardTimeoutError);
    assert.equal(hung.reason.sent, true);
    assert.ok(behind.reason instanceof AuthGuardHelperExitedError);
    assert.match(behind.reason.reason, /no answer within 200 ms/);
    assert.ok(Date.now() - t0 < 2000);
    assert.match((await exited).reason, /stopped/);
    const pid2 = (await ag.call('pid')).pid;
    assert.notEqual(pid2, pid1);
    assert.equal(ag.stats().killed, 1);
  });

  test('a request still waiting in the queue times out without being sent', async () => {
    const ag = fake({ maxInFlight: 1 });
    const first = ag.call('slow', { ms: 400 });
    await assert.rejects(ag.call('echo', { n: 1 }, { timeoutMs: 100 }),
      (e) => e instanceof AuthGuardTimeoutError && e.sent === false);
    assert.equal((await first).op, 'slow', 'the helper was left alone');
    assert.equal(ag.stats().killed, 0);
  });

  test('back-pressure: beyond maxInFlight callers wait; beyond maxQueue they get QueueFull at once', async () => {
    const ag = fake({ maxInFlight: 1, maxQueue: 2 });
    const a = ag.call('slow', { ms: 200 });
    const b = ag.call('echo', { n: 2 });
    const c = ag.call('echo', { n: 3 });
    assert.deepEqual([ag.stats().inFlight, ag.stats().queued], [1, 2]);
    await assert.rejects(ag.call('echo', { n: 4 }), AuthGuardQueueFullError);
    assert.deepEqual((await Promise.all([a, b, c])).map((r) => r.n ?? r.op), ['slow', 2, 3]);
    assert.equal(ag.stats().queueFull, 1);
  });

  test('maxQueue 0: no waiting at all', async () => {
    const ag = fake({ maxInFlight: 1, maxQueue: 0 });
    const a = ag.call('slow', { ms: 100 });
    await assert.rejects(ag.call('echo'), AuthGuardQueueFullError);
    await a;
  });

  test('an answer that is not JSON, or carries another id, is a protocol error and restarts the helper', async () => {
    const ag = fake();
    const pid1 = (await ag.call('pid')).pid;
    await assert.rejects(ag.call('garbage'), AuthGuardProtocolError);
    const pid2 = (await ag.call('pid')).pid;
    assert.notEqual(pid2, pid1);
    await assert.rejects(ag.call('wrongid'), AuthGuardProtocolError);
    assert.notEqual((await ag.call('pid')).pid, pid2);
  });

  test('an op whose answer has an id of its own is sent without one and matched by order', async () => {
    const ag = fake();
    const [a, b, c] = await Promise.all([
      ag.call('echo', { n: 1 }),
      ag.transport.request('ownid', {}, { withoutId: true }),
      ag.call('echo', { n: 3 }),
    ]);
    assert.deepEqual([a.n, b.id, b.sent_id, c.n], [1, 'msg_1', null, 3]);
  });

  test('a helper that cannot be started fails requests at once', async () => {
    const ag = fake({ helper: join(tmp, 'no-such-helper') });
    const t0 = Date.now();
    await assert.rejects(ag.call('echo'), AuthGuardUnavailableError);
    await assert.rejects(ag.call('echo'), AuthGuardUnavailableError);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('a helper that dies at start (bad configuration): its message in the error, restarts back off', async () => {
    const ag = fake({ env: { FAKE_START: 'die' }, restartDelayMs: 20, maxRestartDelayMs: 200 });
    const delays = [];
    ag.on('restart', ({ delay }) => delays.push(delay));
    await assert.rejects(ag.call('echo'), (e) => e instanceof AuthGuardHelperExitedError &&
      e.exitCode === 2 && /does not exist/.test(e.stderr));
    while (delays.length < 5) await once(ag, 'restart');
    assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 160, 200]);
  });

  test('the helper\'s stderr lines go to onStderr', async () => {
    const lines = [];
    const ag = fake({ onStderr: (l) => lines.push(l) });
    await ag.call('stderr', { text: 'authguard-token: hello' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(lines, ['authguard-token: hello']);
  });

  test('restart(): the old helper finishes what it has in flight, new requests go to a new one', async () => {
    const ag = fake();
    const pid1 = (await ag.call('pid')).pid;
    const slow = ag.call('slow', { ms: 200 });
    ag.restart();
    const pid2 = (await ag.call('pid')).pid;
    assert.notEqual(pid2, pid1);
    assert.equal((await slow).op, 'slow');
  });

  test('close(): answers in flight, refuses queued and later calls, ends the helper', async () => {
    const ag = fake({ maxInFlight: 1 });
    const a = ag.call('slow', { ms: 100 });
    const b = ag.call('echo', { n: 2 });
    const closing = ag.close();
    await assert.rejects(b, AuthGuardClosedError);
    assert.equal((await a).op, 'slow');
    await closing;
    await assert.rejects(ag.call('echo'), AuthGuardClosedError);
  });

  test('close() kills a helper that does not finish in time', async () => {
    const ag = fake();
    const h = assert.rejects(ag.call('hang', {}, { timeoutMs: 10000 }), AuthGuardHelperExitedError);
    const t0 = Date.now();
    await ag.close({ timeoutMs: 100 });
    await h;
    assert.ok(Date.now() - t0 < 2000);
  });
});
