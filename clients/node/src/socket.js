// The socket transport: the same requests and answers as the batch
// transport, sent to a running authguardd over its Unix socket
// (man authguardd, "PROTOCOL") instead of a co-process of our own.  The
// daemon holds the state and the keys; this process reads no file of
// either and needs only to be in the daemon's web group.
//
// The daemon answers the requests of one connection one at a time, in
// order, and serves several connections at once (its worker pool).  So:
//  - a small pool of connections (`connections`, default 4) carries the
//    requests; each new request goes to the open connection with the
//    fewest requests in flight, and a connection is opened when every
//    open one is busy and the pool is not full;
//  - on each connection answers are matched to requests by order and
//    checked by id, as on the batch transport (an answer to a line the
//    daemon could not read -- too long, not JSON -- carries no id but
//    comes in its turn);
//  - a request that gets no answer within its timeout blocks every
//    request behind it on its connection: that connection is dropped
//    (the daemon finishes the transaction it holds; its answer is
//    discarded), the requests behind it fail with
//    AuthGuardDisconnectedError, and later requests use another one;
//  - when a connection closes with requests in flight (the daemon was
//    stopped or restarted, or dropped us), each of them fails at once
//    with AuthGuardDisconnectedError -- it may or may not have been
//    carried out, and it is never sent again -- and the next requests
//    connect afresh.  A connection closed while idle (the daemon's
//    daemon_idle_timeout) is simply replaced when needed; the client
//    closes its own idle connections first (idleTimeoutMs) so that a
//    request rarely meets a connection the daemon is closing;
//  - when the daemon cannot be reached (no socket, refused, not allowed),
//    the requests that were waiting for that connection fail at once with
//    AuthGuardUnavailableError (never carried out), and so do new ones for
//    a short back-off (restartDelayMs, doubling up to maxRestartDelayMs)
//    before the next attempt: an outage denies quickly instead of piling
//    up timeouts;
//  - back-pressure exactly as on the batch transport: at most maxInFlight
//    requests written and not yet answered (over all connections), callers
//    beyond wait in a FIFO queue of at most maxQueue, and one more fails at
//    once with AuthGuardQueueFullError.
//
// Nothing secret is logged: requests travel only on the socket; errors
// name the op, never the fields.

import { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';

import {
  AuthGuardClosedError,
  AuthGuardDisconnectedError,
  AuthGuardProtocolError,
  AuthGuardQueueFullError,
  AuthGuardTimeoutError,
  AuthGuardUnavailableError,
} from './errors.js';

export const SOCKET_DEFAULTS = Object.freeze({
  socketPath: '/run/authguard/authguardd.sock',
  connections: 4,
  maxInFlight: 64,
  maxQueue: 1024,
  timeoutMs: 20000,
  idleTimeoutMs: 10000,
  restartDelayMs: 100,
  maxRestartDelayMs: 2000,
  maxAnswerBytes: 2 * 1024 * 1024,
  closeTimeoutMs: 5000,
});

const NL = 0x0a;

export class SocketTransport extends EventEmitter {
  constructor(options = {}) {
    super();
    this.opts = { ...SOCKET_DEFAULTS, ...stripUndefined(options) };
    checkSocketLimits(this.opts);
    this.queue = []; // requests not yet written
    this.conns = new Set(); // open or opening connections
    this.nextId = 1;
    this.nextConn = 1;
    this.closed = false;
    this.inflight = 0;
    this.connectError = null; // why the last connect failed, until one succeeds
    this.retryAt = 0; // no new attempt before this (ms since the epoch)
    this.failures = 0; // consecutive failed connects
    this.counters = { connects: 0, disconnects: 0, dropped: 0, timeouts: 0, queueFull: 0, unavailable: 0 };
  }

  // (A daemon has no process of ours.)
  get pid() {
    return undefined;
  }

  stats() {
    return {
      socketPath: this.opts.socketPath,
      connections: this.conns.size,
      inFlight: this.inflight,
      queued: this.queue.length,
      ...this.counters,
    };
  }

  // Opens one connection now rather than at the first request.
  start() {
    if (this.closed) throw new AuthGuardClosedError('start');
    if (this.conns.size === 0) this._open();
  }

  request(op, fields, { timeoutMs, withoutId = false } = {}) {
    if (this.closed) return Promise.reject(new AuthGuardClosedError(op));
    if (this._backingOff()) {
      this.counters.unavailable++;
      return Promise.reject(new AuthGuardUnavailableError(op, this.connectError));
    }
    const ms = timeoutMs ?? this.opts.timeoutMs;
    return new Promise((resolve, reject) => {
      const id = withoutId ? undefined : this.nextId++;
      const req = {
        id, op, ms, resolve, reject, sent: false, done: false, conn: null,
        line: JSON.stringify(withoutId ? { op, ...fields } : { op, ...fields, id }) + '\n',
      };
      this.queue.push(req);
      this._pump();
      if (!req.sent && !req.done && this.queue.length > this.opts.maxQueue) {
        this.queue.splice(this.queue.indexOf(req), 1);
        this.counters.queueFull++;
        req.done = true;
        reject(new AuthGuardQueueFullError(op, this.opts.maxQueue));
        return;
      }
      if (!req.done) req.timer = setTimeout(() => this._timeout(req), ms);
    });
  }

  // New connections for new requests (e.g. after the daemon's socket
  // moved); the current ones answer what they have in flight and close.
  restart() {
    if (this.closed) throw new AuthGuardClosedError('restart');
    this.connectError = null;
    this.retryAt = 0;
    this.failures = 0;
    for (const conn of this.conns) this._drain(conn);
    this._pump();
  }

  // Stops taking requests, fails the queued ones, lets the connections
  // answer what they have in flight (up to closeTimeoutMs, then drops
  // them).
  async close({ timeoutMs } = {}) {
    if (!this.closed) {
      this.closed = true;
      for (const req of this.queue.splice(0)) this._settle(req, new AuthGuardClosedError(req.op));
      for (const conn of this.conns) {
        conn.closeTimer = setTimeout(() => this._drop(conn, 'client closed'), timeoutMs ?? this.opts.closeTimeoutMs);
        this._drain(conn);
      }
    }
    return Promise.all([...this.conns].map((c) => c.gone));
  }

  // Whether a new connection may be tried now (not within the back-off
  // after a failed one).
  _mayConnect() {
    return !this.connectError || Date.now() >= this.retryAt;
  }

  // Within the back-off with no connection to use: requests fail at once.
  _backingOff() {
    if (this._mayConnect()) return false;
    for (const conn of this.conns) if (conn.connected && !conn.draining && !conn.retired) return false;
    return true;
  }

  // The connection the next request goes to, or null (none can take one
  // now: the request waits in the queue).
  _pick() {
    let best = null;
    let open = 0;
    let connecting = false;
    for (const conn of this.conns) {
      if (conn.draining || conn.retired) continue;
      open++;
      if (!conn.connected) connecting = true;
      if (conn.blocked) continue;
      if (!best || conn.inflight.length < best.inflight.length) best = conn;
    }
    // One more connection when every open one is busy; one attempt at a
    // time, so that a daemon that is down sees one, not one per request.
    if ((!best || best.inflight.length > 0) && open < this.opts.connections && !connecting &&
        this._mayConnect()) {
      return this._open() ?? best;
    }
    return best;
  }

  _pump() {
    if (this.closed) return;
    while (this.queue.length > 0 && this.inflight < this.opts.maxInFlight) {
      const conn = this._pick();
      if (!conn) {
        if (this._backingOff()) this._failQueued();
        return;
      }
      const req = this.queue.shift();
      req.sent = true;
      req.conn = conn;
      conn.inflight.push(req);
      this.inflight++;
      clearTimeout(conn.idleTimer);
      conn.idleTimer = null;
      if (!conn.socket.write(req.line)) conn.blocked = true;
    }
  }

  _open() {
    const conn = {
      n: this.nextConn++, socket: null, inflight: [], pending: [], pendingBytes: 0,
      connected: false, answered: 0, draining: false, retired: false, blocked: false,
      idleTimer: null, closeTimer: null,
    };
    conn.gone = new Promise((r) => { conn.reap = r; });
    let socket;
    try {
      socket = createConnection({ path: this.opts.socketPath });
    } catch (err) {
      this._connectFailed(conn, err);
      return null;
    }
    conn.socket = socket;
    this.conns.add(conn);
    socket.on('connect', () => {
      conn.connected = true;
      this.connectError = null;
      this.failures = 0;
      this.counters.connects++;
      this.emit('connect', { socketPath: this.opts.socketPath, connection: conn.n });
      if (conn.inflight.length === 0) this._idle(conn);
    });
    socket.on('data', (chunk) => this._onData(conn, chunk));
    socket.on('drain', () => {
      conn.blocked = false;
      this._pump();
    });
    socket.on('error', (err) => {
      if (!conn.connected) this._connectFailed(conn, err);
      // otherwise: 'close' follows, and tells the requests in flight
    });
    socket.on('close', () => this._closed(conn));
    return conn;
  }

  // The daemon could not be reached: the requests written to this
  // connection never left this process.
  _connectFailed(conn, err) {
    if (conn.retired) return;
    conn.retired = true;
    this.connectError = err;
    this.failures++;
    const delay = Math.min(this.opts.maxRestartDelayMs, this.opts.restartDelayMs * 2 ** (this.failures - 1));
    this.retryAt = Date.now() + delay;
    for (const req of conn.inflight.splice(0)) {
      this.inflight--;
      req.sent = false;
      this.counters.unavailable++;
      this._settle(req, new AuthGuardUnavailableError(req.op, err));
    }
    // Others may still serve; without any, the waiting requests are denied now.
    if (this._backingOff()) this._failQueued();
    else this._pump();
    this.emit('unavailable', { socketPath: this.opts.socketPath, reason: err.code ?? err.message, retryInMs: delay });
    if (conn.socket) conn.socket.destroy();
    else this._finish(conn);
  }

  _failQueued() {
    for (const req of this.queue.splice(0)) {
      this.counters.unavailable++;
      this._settle(req, new AuthGuardUnavailableError(req.op, this.connectError));
    }
  }

  _closed(conn) {
    if (!conn.retired) {
      this._retire(conn, conn.inflight.length > 0 ? 'the daemon closed the connection' : null);
    }
    this._finish(conn);
    this._pump();
  }

  _finish(conn) {
    if (!this.conns.has(conn) && conn.finished) return;
    conn.finished = true;
    this.conns.delete(conn);
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.closeTimer);
    if (conn.connected) {
      this.counters.disconnects++;
      this.emit('disconnect', { socketPath: this.opts.socketPath, connection: conn.n, expected: conn.draining });
    }
    conn.reap();
  }

  // The connection will answer nothing more: fail what is in flight on it.
  _retire(conn, reason) {
    if (conn.retired) return;
    conn.retired = true;
    for (const req of conn.inflight.splice(0)) {
      this.inflight--;
      this._settle(req, new AuthGuardDisconnectedError(req.op, { reason: reason ?? 'connection closed' }));
    }
  }

  // Closes a connection on purpose: what is in flight on it fails.
  _drop(conn, reason) {
    if (!conn.retired) this.counters.dropped++;
    this._retire(conn, `dropped: ${reason}`);
    conn.socket?.destroy();
  }

  // No new requests; closed once its last answer came.
  _drain(conn) {
    conn.draining = true;
    if (conn.inflight.length === 0) conn.socket?.end();
  }

  // Closes an idle connection before the daemon's own idle timeout does,
  // so that a request is not written into a connection being closed.
  _idle(conn) {
    if (conn.draining) {
      conn.socket.end();
      return;
    }
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      if (conn.inflight.length === 0 && !conn.retired) this._drain(conn);
    }, this.opts.idleTimeoutMs);
    conn.idleTimer.unref?.();
  }

  _onData(conn, chunk) {
    if (conn.retired) return;
    let start = 0;
    let nl;
    while ((nl = chunk.indexOf(NL, start)) !== -1) {
      let line = chunk.subarray(start, nl);
      if (conn.pending.length > 0) {
        conn.pending.push(line);
        line = Buffer.concat(conn.pending);
        conn.pending = [];
        conn.pendingBytes = 0;
      }
      start = nl + 1;
      this._onLine(conn, line);
      if (conn.retired) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      conn.pending.push(rest);
      conn.pendingBytes += rest.length;
      if (conn.pendingBytes > this.opts.maxAnswerBytes) {
        const req = conn.inflight.shift();
        if (req) {
          this.inflight--;
          this._settle(req, new AuthGuardProtocolError(req.op, 'answer too long'));
        }
        this._drop(conn, 'answer too long');
      }
    }
  }

  _onLine(conn, buf) {
    if (buf.length === 0) return;
    const req = conn.inflight.shift();
    if (!req) {
      this._drop(conn, 'an answer nobody asked for');
      return;
    }
    this.inflight--;
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
      this._drop(conn, problem);
      return;
    }
    conn.answered++;
    this._settle(req, null, ans);
    if (conn.inflight.length === 0) this._idle(conn);
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
    const conn = req.conn;
    const i = conn.inflight.indexOf(req);
    if (i !== -1) {
      conn.inflight.splice(i, 1);
      this.inflight--;
    }
    this._settle(req, new AuthGuardTimeoutError(req.op, req.ms, true));
    // Answers come in order: every request behind this one waits for it.
    this._drop(conn, `a request got no answer within ${req.ms} ms`);
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

export function checkSocketLimits(o) {
  for (const k of ['connections', 'maxInFlight', 'timeoutMs', 'idleTimeoutMs', 'maxAnswerBytes']) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new TypeError(`${k} must be a positive integer`);
  }
  for (const k of ['maxQueue', 'restartDelayMs', 'maxRestartDelayMs', 'closeTimeoutMs']) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new TypeError(`${k} must be an integer >= 0`);
  }
  if (typeof o.socketPath !== 'string' || o.socketPath.length === 0) throw new TypeError('socketPath must be a path');
}
