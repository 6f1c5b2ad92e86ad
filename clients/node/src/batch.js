// The batch transport: one long-lived `authguard-token batch` co-process,
// supervised.
//
// The helper reads one JSON request per line and answers each with one
// JSON line, in order.  So:
//  - every answer belongs to the oldest request in flight: requests are
//    matched by order, and checked by id when the answer carries one (an
//    answer to a line the helper could not read -- too long, not JSON --
//    carries no id, but still comes in its turn);
//  - a request that gets no answer within its timeout blocks every request
//    written after it: the helper is then considered stuck and is killed
//    (SIGKILL: a transaction in progress rolls back), every other request
//    in flight on it fails with AuthGuardHelperExitedError, and a new
//    helper is started;
//  - when the helper exits for any reason, every request in flight on it
//    fails at once (never a hang), and a new helper is started, at once
//    after a helper that worked, with a growing delay (up to
//    maxRestartDelayMs) after one that died before answering anything;
//  - back-pressure: at most maxInFlight requests are written and not yet
//    answered; callers beyond that wait in a FIFO queue of at most
//    maxQueue requests (their wait counts towards their timeout); when the
//    queue is full a call fails at once with AuthGuardQueueFullError
//    (answer 503 with Retry-After: the backend is overloaded).
//
// Nothing secret is ever logged or put in argv: requests travel on the
// helper's stdin; errors name the op, never the fields.

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';

import {
  AuthGuardClosedError,
  AuthGuardHelperExitedError,
  AuthGuardProtocolError,
  AuthGuardQueueFullError,
  AuthGuardTimeoutError,
  AuthGuardUnavailableError,
} from './errors.js';

export const BATCH_DEFAULTS = Object.freeze({
  helper: '/usr/bin/authguard-token',
  conf: undefined,
  env: {},
  maxInFlight: 64,
  maxQueue: 1024,
  timeoutMs: 20000,
  restartDelayMs: 100,
  maxRestartDelayMs: 5000,
  maxAnswerBytes: 16 * 1024 * 1024,
  closeTimeoutMs: 5000,
});

const NL = 0x0a;
const STDERR_TAIL = 2000;

export class BatchTransport extends EventEmitter {
  constructor(options = {}) {
    super();
    this.opts = { ...BATCH_DEFAULTS, ...stripUndefined(options) };
    checkLimits(this.opts);
    this.args = [...(this.opts.conf ? ['--conf', String(this.opts.conf)] : []), 'batch'];
    this.queue = []; // requests not yet written
    this.gen = null; // the current helper: { child, inflight, ... }
    this.nextId = 1;
    this.closed = false;
    this.restartTimer = null;
    this.quickFailures = 0;
    this.spawnError = null; // why the last start failed, until one succeeds
    this.counters = { spawned: 0, exited: 0, killed: 0, timeouts: 0, queueFull: 0 };
    this.live = new Set(); // helpers not yet reaped (the current one, draining ones)
  }

  get pid() {
    return this.gen?.child.pid;
  }

  stats() {
    return {
      pid: this.pid,
      inFlight: this.gen ? this.gen.inflight.length : 0,
      queued: this.queue.length,
      ...this.counters,
    };
  }

  // Starts the helper now rather than at the first request.
  start() {
    if (this.closed) throw new AuthGuardClosedError('start');
    if (!this.gen && !this.restartTimer) this._spawn();
  }

  // withoutId: send no id (the answer is matched by order alone), for an
  // op whose answer has an "id" member of its own (webhook_receive: the
  // message id), which a request id would replace.
  request(op, fields, { timeoutMs, withoutId = false } = {}) {
    if (this.closed) return Promise.reject(new AuthGuardClosedError(op));
    if (this.spawnError && !this.gen) return Promise.reject(new AuthGuardUnavailableError(op, this.spawnError));
    const ms = timeoutMs ?? this.opts.timeoutMs;
    return new Promise((resolve, reject) => {
      const id = withoutId ? undefined : this.nextId++;
      const req = {
        id, op, ms, resolve, reject, sent: false, done: false, gen: null,
        line: JSON.stringify(withoutId ? { op, ...fields } : { op, ...fields, id }) + '\n',
      };
      this.queue.push(req);
      this._pump();
      if (!req.sent && this.queue.length > this.opts.maxQueue) {
        this.queue.splice(this.queue.indexOf(req), 1);
        this.counters.queueFull++;
        req.done = true;
        reject(new AuthGuardQueueFullError(op, this.opts.maxQueue));
        return;
      }
      if (!req.done) req.timer = setTimeout(() => this._timeout(req), ms);
    });
  }

  // Replaces the helper (e.g. after a change of configuration): the
  // current one answers what it has in flight and exits; new requests go
  // to a new one.
  restart() {
    if (this.closed) throw new AuthGuardClosedError('restart');
    const old = this.gen;
    if (old) {
      old.draining = true;
      this.gen = null;
      old.child.stdin.end();
    }
    this._spawn();
    this._pump();
  }

  // Stops taking requests, fails the queued ones, lets the helper answer
  // those in flight (up to closeTimeoutMs, then kills it).
  async close({ timeoutMs } = {}) {
    if (this.closed) return this._reaped();
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = null;
    for (const req of this.queue.splice(0)) this._settle(req, new AuthGuardClosedError(req.op));
    for (const gen of this.live) {
      gen.draining = true;
      gen.child.stdin.end();
      const t = setTimeout(() => this._kill(gen, 'closed'), timeoutMs ?? this.opts.closeTimeoutMs);
      gen.closeTimer = t;
    }
    this.gen = null;
    return this._reaped();
  }

  _reaped() {
    return Promise.all([...this.live].map((g) => g.reaped));
  }

  _pump() {
    if (this.closed) return;
    if (!this.gen) {
      if (this.restartTimer || this.queue.length === 0) return;
      this._spawn();
      if (!this.gen) return;
    }
    const gen = this.gen;
    while (this.queue.length > 0 && gen.inflight.length < this.opts.maxInFlight) {
      const req = this.queue.shift();
      req.sent = true;
      req.gen = gen;
      gen.inflight.push(req);
      gen.child.stdin.write(req.line);
    }
  }

  _spawn() {
    let child;
    try {
      child = spawn(this.opts.helper, this.args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...this.opts.env },
        shell: false,
        windowsHide: true,
      });
    } catch (err) {
      // Arguments Node refuses synchronously: nothing can be started.
      this.spawnError = err;
      this._failQueued((op) => new AuthGuardUnavailableError(op, err));
      this._scheduleRestart(true);
      return;
    }
    const gen = {
      child, inflight: [], startedAt: Date.now(), answered: 0,
      pending: [], pendingBytes: 0, stderrTail: '', stderrPartial: '',
      retired: false, draining: false,
    };
    gen.reaped = new Promise((r) => { gen.reap = r; });
    this.gen = gen;
    this.live.add(gen);
    this.counters.spawned++;
    child.stdout.on('data', (chunk) => this._onData(gen, chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => this._onStderr(gen, s));
    // The helper may die with requests unread: EPIPE is reported by the
    // exit, not here.
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      if (child.pid === undefined) {
        // Could not be started: nothing will ever answer, fail the
        // waiting requests too rather than let them time out.
        this.spawnError = err;
        this._retire(gen, { reason: `cannot start ${this.opts.helper}: ${err.code ?? err.message}` },
          (op) => new AuthGuardUnavailableError(op, err));
        this._failQueued((op) => new AuthGuardUnavailableError(op, err));
        this._finish(gen);
      }
      // otherwise (a failed kill): the exit follows
    });
    child.on('close', (code, signal) => {
      this._retire(gen, {
        reason: signal ? `killed by ${signal}` : `exited with status ${code}`,
        exitCode: code, signal,
      });
      this._finish(gen);
    });
    if (child.pid !== undefined) {
      this.spawnError = null;
      this.emit('spawn', { pid: child.pid });
    }
  }

  _finish(gen) {
    if (!this.live.has(gen)) return;
    this.live.delete(gen);
    clearTimeout(gen.closeTimer);
    this.counters.exited++;
    gen.reap();
  }

  _onStderr(gen, s) {
    gen.stderrPartial += s;
    let nl;
    while ((nl = gen.stderrPartial.indexOf('\n')) !== -1) {
      const line = gen.stderrPartial.slice(0, nl);
      gen.stderrPartial = gen.stderrPartial.slice(nl + 1);
      if (line.length === 0) continue;
      gen.stderrTail = line.slice(0, STDERR_TAIL);
      this.emit('stderr', line, { pid: gen.child.pid });
    }
    if (gen.stderrPartial.length > STDERR_TAIL) gen.stderrPartial = gen.stderrPartial.slice(-STDERR_TAIL);
  }

  _onData(gen, chunk) {
    if (gen.retired) return;
    let start = 0;
    let nl;
    while ((nl = chunk.indexOf(NL, start)) !== -1) {
      let line = chunk.subarray(start, nl);
      if (gen.pending.length > 0) {
        gen.pending.push(line);
        line = Buffer.concat(gen.pending);
        gen.pending = [];
        gen.pendingBytes = 0;
      }
      start = nl + 1;
      this._onLine(gen, line);
      if (gen.retired) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      gen.pending.push(rest);
      gen.pendingBytes += rest.length;
      if (gen.pendingBytes > this.opts.maxAnswerBytes) {
        const req = gen.inflight.shift();
        if (req) this._settle(req, new AuthGuardProtocolError(req.op, 'answer too long'));
        this._kill(gen, 'answer too long');
      }
    }
  }

  _onLine(gen, buf) {
    if (buf.length === 0) return;
    const req = gen.inflight.shift();
    if (!req) {
      this._kill(gen, 'an answer nobody asked for');
      return;
    }
    let ans;
    try {
      ans = JSON.parse(buf.toString('utf8'));
    } catch {
      ans = undefined;
    }
    let problem = null;
    if (ans === null || typeof ans !== 'object' || Array.isArray(ans)) problem = 'answer is not a JSON object';
    else if (!Number.isInteger(ans.status) || ans.status < 0 || ans.status > 3) problem = 'answer without a valid status';
    else if (req.id !== undefined && ('id' in ans ? ans.id !== req.id : ans.status !== 2)) {
      problem = 'answer to another request';
    }
    if (problem) {
      // The stream is out of step: nothing after this can be trusted.
      this._settle(req, new AuthGuardProtocolError(req.op, problem));
      this._kill(gen, problem);
      return;
    }
    gen.answered++;
    if (gen === this.gen) this.quickFailures = 0;
    this._settle(req, null, ans);
    this._pump();
  }

  _timeout(req) {
    if (req.done) return;
    this.counters.timeouts++;
    if (!req.sent) {
      const i = this.queue.indexOf(req);
      if (i !== -1) this.queue.splice(i, 1);
      this._settle(req, new AuthGuardTimeoutError(req.op, req.ms, false));
      return;
    }
    const gen = req.gen;
    const i = gen.inflight.indexOf(req);
    if (i !== -1) gen.inflight.splice(i, 1);
    this._settle(req, new AuthGuardTimeoutError(req.op, req.ms, true));
    // Answers come in order: every request behind this one waits for it.
    this._kill(gen, `a request got no answer within ${req.ms} ms`);
  }

  _kill(gen, reason) {
    if (!gen.retired) this.counters.killed++;
    this._retire(gen, { reason: `stopped: ${reason}` });
    try {
      gen.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  // The helper will answer nothing more: fail what is in flight on it and,
  // if it was the current one, start another.
  _retire(gen, detail, makeError) {
    if (gen.retired) return;
    gen.retired = true;
    const stderr = gen.stderrTail || undefined;
    for (const req of gen.inflight.splice(0)) {
      this._settle(req, makeError ? makeError(req.op) : new AuthGuardHelperExitedError(req.op, { ...detail, stderr }));
    }
    const wasCurrent = this.gen === gen;
    if (wasCurrent) this.gen = null;
    this.emit('exit', { pid: gen.child.pid, ...detail, stderr, expected: gen.draining });
    if (this.closed || !wasCurrent) return;
    const quick = gen.answered === 0 && Date.now() - gen.startedAt < 5000;
    this._scheduleRestart(quick);
  }

  _scheduleRestart(quick) {
    if (this.closed || this.restartTimer) return;
    let delay = this.opts.restartDelayMs;
    if (quick) {
      delay = Math.min(this.opts.maxRestartDelayMs, this.opts.restartDelayMs * 2 ** this.quickFailures);
      this.quickFailures++;
    } else {
      this.quickFailures = 0;
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closed || this.gen) return;
      this.emit('restart', { delay });
      this._spawn();
      this._pump();
    }, delay);
    // An idle supervisor alone does not keep Node running.
    this.restartTimer.unref?.();
  }

  _failQueued(makeError) {
    for (const req of this.queue.splice(0)) this._settle(req, makeError(req.op));
  }

  _settle(req, err, value) {
    if (req.done) return;
    req.done = true;
    clearTimeout(req.timer);
    if (err) req.reject(err);
    else req.resolve(value);
  }
}

function stripUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function checkLimits(o) {
  for (const k of ['maxInFlight', 'timeoutMs']) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new TypeError(`${k} must be a positive integer`);
  }
  if (!Number.isInteger(o.maxQueue) || o.maxQueue < 0) throw new TypeError('maxQueue must be an integer >= 0');
  if (typeof o.helper !== 'string' || o.helper.length === 0) throw new TypeError('helper must be a path');
  if (o.env === null || typeof o.env !== 'object') throw new TypeError('env must be an object');
}
