// The socket transport against a real authguardd started here on a
// throwaway state (support.js, startDaemon): answers matched to their
// requests over several connections, a request stuck in the daemon (the
// state's write lock held by another process) timing out without taking
// the other connections with it, the daemon killed and restarted under
// requests in flight, no daemon at all, back-pressure, idle connections
// closed by either side, close() and restart().  A small fake server
// stands in for the daemon only for what the real one never does (answer
// garbage or another request's id).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  AuthGuard,
  AuthGuardClosedError,
  AuthGuardDisconnectedError,
  AuthGuardHelperExitedError,
  AuthGuardInternalError,
  AuthGuardProtocolError,
  AuthGuardQueueFullError,
  AuthGuardTimeoutError,
  AuthGuardUnavailableError,
  AuthGuardUsageError,
} from '../index.js';
import { makeState, startDaemon } from './support.js';

const haveSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Holds the state's write lock (BEGIN IMMEDIATE in the sqlite3 shell)
// until release(): a request that writes waits in its daemon worker.
async function holdWriteLock(db) {
  const p = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'inherit'] });
  p.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n");
  await once(p.stdout, 'data');
  return {
    async release() {
      p.stdin.end('COMMIT;\n');
      await once(p, 'exit');
    },
  };
}

describe('socket transport (real authguardd)', () => {
  let st;
  let d;
  const open = [];
  const ag = (opts = {}) => {
    const c = new AuthGuard({ transport: 'socket', socketPath: d.socketPath, timeoutMs: 10000, ...opts });
    open.push(c);
    return c;
  };
  before(() => {
    st = makeState(['delay_base = 0', 'deny = 1000', 'host_deny = 100000']);
    d = startDaemon(st);
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close({ timeoutMs: 500 })));
    d.stop();
    st.cleanup();
  });

  test('hundreds of requests in flight over several connections: every answer to its own request', async () => {
    const c = ag({ connections: 4, maxInFlight: 32 });
    const issued = await Promise.all(Array.from({ length: 300 }, (_, n) => c.issue({ sub: `u${n}` })));
    const checks = await Promise.all(issued.map((i) => c.verify({ token: i.token })));
    assert.deepEqual(checks.map((v) => v.claims.sub), issued.map((_, n) => `u${n}`));
    assert.deepEqual(checks.map((v) => v.claims.jti), issued.map((i) => i.jti));
    const s = c.stats();
    assert.equal(s.inFlight, 0);
    assert.ok(s.connections >= 2 && s.connections <= 4, `connections: ${s.connections}`);
    assert.equal(s.connects, s.connections, 'no connection was lost');
  });

  test('a line the daemon cannot take gets its usage answer in its turn, the others theirs', async () => {
    const c = ag({ connections: 1 });
    const [a, b, e] = await Promise.allSettled([
      c.jwks(), c.verify({ token: 'x'.repeat(200000) }), c.issue({ sub: 'after' }),
    ]);
    assert.equal(a.value.keys.length, 1);
    assert.ok(b.reason instanceof AuthGuardUsageError, b.reason);
    assert.match(b.reason.message, /too long/);
    assert.equal(e.value.ok, true);
    assert.equal(c.stats().connects, 1, 'one connection throughout');
  });

  test('status 1 is a result, 2 a usage error, as on the other transports', async () => {
    const c = ag();
    const v = await c.verify({ token: 'not-a-token' });
    assert.deepEqual([v.ok, v.status, v.reason], [false, 1, 'malformed']);
    await assert.rejects(c.guardCheck({ subject: 'x', ip: 'not-an-ip' }), AuthGuardUsageError);
    await assert.rejects(c.call('no_such_op', {}), AuthGuardUsageError);
  });

  test('a request stuck in the daemon times out; its connection is dropped, the requests behind it fail, others go on',
    { skip: !haveSqlite3 && 'sqlite3 (the command) is not installed' }, async () => {
      const c = ag({ connections: 1 });
      await c.jwks();
      const lock = await holdWriteLock(join(st.dir, 'state/state.db'));
      try {
        const t0 = Date.now();
        const [stuck, behind] = await Promise.allSettled([
          c.guardCheck({ subject: 'stuck@example.com' }, { timeoutMs: 300 }),
          c.jwks(),
        ]);
        assert.ok(stuck.reason instanceof AuthGuardTimeoutError, stuck.reason);
        assert.equal(stuck.reason.sent, true);
        assert.ok(behind.reason instanceof AuthGuardDisconnectedError, behind.reason);
        assert.ok(behind.reason instanceof AuthGuardHelperExitedError, 'handled like a helper that ended');
        assert.match(behind.reason.reason, /no answer within 300 ms/);
        assert.ok(Date.now() - t0 < 2000);
        // A new connection serves what needs no write while the worker
        // still waits for the lock.
        assert.equal((await c.jwks()).keys.length, 1);
        assert.deepEqual([c.stats().dropped, c.stats().connects], [1, 2]);
      } finally {
        await lock.release();
      }
      assert.equal((await c.guardCheck({ subject: 'stuck@example.com' })).ok, true);
    });

  test('back-pressure: beyond maxInFlight callers wait; beyond maxQueue they get QueueFull at once', async () => {
    const c = ag({ maxInFlight: 1, maxQueue: 2 });
    const a = c.issue({ sub: 'a' });
    const b = c.issue({ sub: 'b' });
    const e = c.issue({ sub: 'c' });
    assert.deepEqual([c.stats().inFlight, c.stats().queued], [1, 2]);
    await assert.rejects(c.jwks(), AuthGuardQueueFullError);
    const got = await Promise.all([a, b, e]);
    assert.deepEqual(got.map((r) => r.ok), [true, true, true]);
    assert.equal(c.stats().queueFull, 1);
  });

  test('close(): answers in flight, refuses queued and later calls', async () => {
    const c = ag({ maxInFlight: 1 });
    const a = c.issue({ sub: 'a' });
    const b = c.issue({ sub: 'b' });
    const closing = c.close();
    await assert.rejects(b, AuthGuardClosedError);
    assert.equal((await a).ok, true);
    await closing;
    assert.equal(c.stats().connections, 0);
    await assert.rejects(c.jwks(), AuthGuardClosedError);
  });

  test('restart(): the old connections finish what they carry, new requests take new ones', async () => {
    const c = ag({ connections: 1 });
    await c.jwks();
    const inflight = c.issue({ sub: 'a' });
    c.restart();
    const next = await c.issue({ sub: 'b' });
    assert.equal((await inflight).ok, true);
    assert.equal(next.ok, true);
    assert.equal(c.stats().connects, 2);
  });
});

describe('socket transport: the daemon comes and goes', () => {
  const cleanup = [];
  after(() => { for (const f of cleanup.reverse()) f(); });

  test('no daemon: every call denied at once with AuthGuardUnavailableError', async () => {
    const c = new AuthGuard({ transport: 'socket', socketPath: '/nonexistent/authguardd.sock' });
    cleanup.push(() => c.close());
    const events = [];
    c.on('unavailable', (e) => events.push(e));
    const t0 = Date.now();
    const errs = await Promise.all([c.jwks(), c.jwks(), c.jwks()].map((p) => p.catch((e) => e)));
    for (const e of errs) {
      assert.ok(e instanceof AuthGuardUnavailableError, e);
      assert.equal(e.cause.code, 'ENOENT');
    }
    await assert.rejects(c.jwks(), AuthGuardUnavailableError, 'and during the back-off');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(events.length, 1, 'one attempt, not one per request');
  });

  test('kill -9 under requests in flight: they fail at once; a restarted daemon serves again',
    { skip: !haveSqlite3 && 'sqlite3 (the command) is not installed' }, async () => {
      const st = makeState();
      cleanup.push(() => st.cleanup());
      const d1 = startDaemon(st, { socketPath: join(st.dir, 'k.sock') });
      cleanup.push(() => d1.kill());
      const c = new AuthGuard({ transport: 'socket', socketPath: d1.socketPath, timeoutMs: 20000,
        restartDelayMs: 50, maxRestartDelayMs: 200 });
      cleanup.push(() => c.close());
      await c.jwks();
      const lock = await holdWriteLock(join(st.dir, 'state/state.db'));
      let d2;
      try {
        const inflight = [1, 2, 3].map((n) => c.guardCheck({ subject: `k${n}@example.com` }).catch((e) => e));
        await sleep(300); // in the workers, waiting for the lock
        const t0 = Date.now();
        d1.kill();
        const errs = await Promise.all(inflight);
        for (const e of errs) assert.ok(e instanceof AuthGuardDisconnectedError, e);
        assert.ok(Date.now() - t0 < 2000, 'at once, not by a timeout');
        const down = await c.jwks().catch((e) => e);
        assert.ok(down instanceof AuthGuardUnavailableError, down);
        assert.equal(down.cause.code, 'ECONNREFUSED', 'the socket file is left, nobody listens');
        await d1.exited;
        await lock.release();
        d2 = startDaemon(st, { socketPath: d1.socketPath });
        await sleep(300); // past the back-off
        const g = await c.guardCheck({ subject: 'k1@example.com' });
        assert.equal(g.ok, true);
        const s = c.stats();
        assert.ok(s.disconnects >= 1 && s.connects >= 2, JSON.stringify(s));
      } finally {
        d2?.stop();
      }
    });

  test('SIGTERM: the daemon answers what it took, closes; calls are then refused as unavailable', async () => {
    const st = makeState();
    cleanup.push(() => st.cleanup());
    const d1 = startDaemon(st, { socketPath: join(st.dir, 't.sock') });
    cleanup.push(() => d1.kill());
    const c = new AuthGuard({ transport: 'socket', socketPath: d1.socketPath });
    cleanup.push(() => c.close());
    const gone = once(c, 'disconnect');
    const a = c.issue({ sub: 'a' }).catch((e) => e);
    await sleep(50);
    d1.stop();
    // Taken by a worker before the signal: answered in full.  Read but
    // still waiting for a worker (a slow machine): refused as "the
    // daemon is stopping", with its id -- never a protocol error.
    const first = await a;
    if (first.ok !== true) {
      assert.ok(first instanceof AuthGuardInternalError, first);
      assert.match(first.message, /stopping/);
    }
    await gone;
    assert.equal((await d1.exited).code, 0);
    const e = await c.jwks().catch((x) => x);
    assert.ok(e instanceof AuthGuardUnavailableError, e);
    assert.equal(e.cause.code, 'ENOENT', 'the daemon removed its socket');
  });

  test('idle connections: the daemon\'s idle timeout and the client\'s own; the next request reconnects quietly', async () => {
    const st = makeState(['daemon_idle_timeout = 1s']);
    cleanup.push(() => st.cleanup());
    const d1 = startDaemon(st, { socketPath: join(st.dir, 'i.sock') });
    cleanup.push(() => d1.stop());
    // The daemon closes first.
    const c = new AuthGuard({ transport: 'socket', socketPath: d1.socketPath, idleTimeoutMs: 60000 });
    cleanup.push(() => c.close());
    await c.jwks();
    const ev = await once(c, 'disconnect');
    assert.equal(ev[0].expected, false);
    assert.equal((await c.issue({ sub: 'a' })).ok, true);
    assert.deepEqual([c.stats().connects, c.stats().disconnects], [2, 1]);
    // The client closes first.
    const c2 = new AuthGuard({ transport: 'socket', socketPath: d1.socketPath, idleTimeoutMs: 100 });
    cleanup.push(() => c2.close());
    await c2.jwks();
    const ev2 = await once(c2, 'disconnect');
    assert.equal(ev2[0].expected, true);
    assert.equal((await c2.jwks()).keys.length, 1);
  });
});

describe('socket transport: a server that is not a daemon', () => {
  let server;
  let path;
  const st = makeState();
  after(() => { server?.close(); st.cleanup(); });
  before(async () => {
    path = join(st.dir, 'fake.sock');
    // Answers {"op":"garbage"} with a line that is not JSON, {"op":"wrongid"}
    // with another id, anything else with its own id.
    server = createServer((sock) => {
      let buf = '';
      sock.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const req = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (req.op === 'garbage') sock.write('this is not json\n');
          else if (req.op === 'wrongid') sock.write(`${JSON.stringify({ status: 0, id: req.id + 1000 })}\n`);
          else sock.write(`${JSON.stringify({ status: 0, id: req.id, op: req.op })}\n`);
        }
      });
    });
    server.listen(path);
    await once(server, 'listening');
  });

  test('an answer that is not JSON, or carries another id, is a protocol error and drops the connection', async () => {
    const c = new AuthGuard({ transport: 'socket', socketPath: path, connections: 1 });
    try {
      assert.equal((await c.call('echo')).op, 'echo');
      await assert.rejects(c.call('garbage'), AuthGuardProtocolError);
      assert.equal((await c.call('echo')).op, 'echo');
      await assert.rejects(c.call('wrongid'), AuthGuardProtocolError);
      assert.equal((await c.call('echo')).op, 'echo');
      assert.deepEqual([c.stats().dropped, c.stats().connects], [2, 3]);
    } finally {
      await c.close();
    }
  });
});
