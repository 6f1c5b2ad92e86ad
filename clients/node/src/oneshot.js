// The one-shot transport: one helper process per call, with the command
// line of man authguard-token(1) and authguard-webhook(1).  Same requests,
// same answers, same statuses as the batch transport (the protocol says
// every batch op answers what its one-shot command prints, plus status),
// at the price of a process start, a configuration load and a state open
// per call.  For hosts that want no long-lived helper, and to measure what
// the batch transport saves (bench/).
//
// Secrets (codes, tokens, session ids, the webhook body) go on stdin,
// never in argv.

import { spawn } from 'node:child_process';

import {
  AuthGuardClosedError,
  AuthGuardHelperExitedError,
  AuthGuardProtocolError,
  AuthGuardQueueFullError,
  AuthGuardTimeoutError,
  AuthGuardUnavailableError,
} from './errors.js';
import { BATCH_DEFAULTS, checkLimits } from './batch.js';

export const ONESHOT_DEFAULTS = Object.freeze({
  ...BATCH_DEFAULTS,
  webhookHelper: '/usr/bin/authguard-webhook',
  maxInFlight: 8,
});

class Usage extends Error {}

function str(v, name) {
  if (typeof v !== 'string') throw new Usage(`"${name}" must be a string`);
  return v;
}

function opt(args, flag, v, name) {
  if (v === undefined) return;
  if (typeof v === 'number' && Number.isFinite(v)) args.push(flag, String(v));
  else args.push(flag, str(v, name));
}

function line(v, name) {
  return `${str(v, name)}\n`;
}

// op -> { bin: 'token' | 'webhook', args, stdin }
export function commandFor(op, f) {
  const a = [];
  switch (op) {
    case 'guard_check':
    case 'guard_failure':
    case 'guard_success':
      a.push('guard', op.slice(6));
      opt(a, '--subject', f.subject, 'subject');
      opt(a, '--ip', f.ip, 'ip');
      if (op !== 'guard_check') opt(a, '--attempt', f.attempt, 'attempt');
      return { bin: 'token', args: a, stdin: '' };
    case 'mfa_verify':
      a.push('mfa', 'verify');
      opt(a, '--user', f.user, 'user');
      opt(a, '--ip', f.ip, 'ip');
      return { bin: 'token', args: a, stdin: line(f.code, 'code') };
    case 'issue': {
      a.push('issue');
      opt(a, '--sub', f.sub, 'sub');
      opt(a, '--aud', f.aud, 'aud');
      opt(a, '--sid', f.sid, 'sid');
      opt(a, '--ttl', f.ttl, 'ttl');
      if (f.refresh === true) a.push('--refresh');
      let stdin = '';
      if (f.claims !== undefined) {
        a.push('--claims-stdin');
        stdin = JSON.stringify(f.claims);
      }
      return { bin: 'token', args: a, stdin };
    }
    case 'verify':
      return { bin: 'token', args: ['verify'], stdin: line(f.token, 'token') };
    case 'refresh':
      return { bin: 'token', args: ['refresh'], stdin: line(f.refresh_token, 'refresh_token') };
    case 'revoke':
      if (f.user !== undefined) return { bin: 'token', args: ['revoke', '--user', str(f.user, 'user')], stdin: '' };
      if (f.refresh_token !== undefined) {
        return { bin: 'token', args: ['revoke', '--family'], stdin: line(f.refresh_token, 'refresh_token') };
      }
      return { bin: 'token', args: ['revoke'], stdin: line(f.token ?? f.jti, 'token') };
    case 'jwks':
      return { bin: 'token', args: ['jwks'], stdin: '' };
    case 'session_create':
    case 'session_check': {
      a.push('session', op.slice(8));
      if (op === 'session_create') opt(a, '--user', f.user, 'user');
      opt(a, '--user-agent', f.user_agent, 'user_agent');
      opt(a, '--user-agent-hash', f.user_agent_hash, 'user_agent_hash');
      for (const v of f.attrs ?? []) opt(a, '--attr', v, 'attrs');
      if (op === 'session_create') {
        opt(a, '--clerk-session', f.clerk_session, 'clerk_session');
        return { bin: 'token', args: a, stdin: '' };
      }
      return { bin: 'token', args: a, stdin: line(f.session, 'session') };
    }
    case 'session_rotate':
      return { bin: 'token', args: ['session', 'rotate'], stdin: line(f.session, 'session') };
    case 'session_list':
      return { bin: 'token', args: ['session', 'list', '--user', str(f.user, 'user')], stdin: '' };
    case 'session_end':
      a.push('session', 'end');
      opt(a, '--sid', f.sid, 'sid');
      opt(a, '--user', f.user, 'user');
      return { bin: 'token', args: a, stdin: f.session !== undefined ? line(f.session, 'session') : '' };
    case 'logout': {
      const lines = [];
      if (f.session !== undefined) lines.push(line(f.session, 'session'));
      if (f.token !== undefined) lines.push(line(f.token, 'token'));
      if (f.refresh_token !== undefined) lines.push(line(f.refresh_token, 'refresh_token'));
      return { bin: 'token', args: ['logout'], stdin: lines.join('') };
    }
    case 'webhook_receive': {
      // The signature headers are not secret (an HMAC of this one message):
      // they go as --header arguments.  (A header block on a fourth
      // descriptor, --headers /dev/fd/3, cannot be opened when the
      // descriptor is a socket, which is what Node's stdio pipes are.)
      const h = f.headers ?? {};
      if (h === null || typeof h !== 'object') throw new Usage('"headers" must be an object');
      a.push('receive');
      for (const [k, v] of Object.entries(h)) {
        if (/[\r\n]/.test(k) || /[\r\n]/.test(str(v, 'headers'))) throw new Usage('a header with a line break');
        a.push('--header', `${k}: ${v}`);
      }
      return { bin: 'webhook', args: a, stdin: str(f.body, 'body') };
    }
    default:
      throw new Usage('unknown op');
  }
}

export class OneShotTransport {
  constructor(options = {}) {
    this.opts = { ...ONESHOT_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    checkLimits(this.opts);
    this.running = 0;
    this.queue = [];
    this.children = new Set();
    this.closed = false;
    this.counters = { spawned: 0, timeouts: 0, queueFull: 0 };
  }

  stats() {
    return { inFlight: this.running, queued: this.queue.length, ...this.counters };
  }

  start() {}

  restart() {}

  request(op, fields, { timeoutMs } = {}) {
    if (this.closed) return Promise.reject(new AuthGuardClosedError(op));
    let cmd;
    try {
      cmd = commandFor(op, fields);
    } catch (e) {
      if (e instanceof Usage) return Promise.resolve({ error: 'usage', message: e.message, status: 2 });
      throw e;
    }
    const ms = timeoutMs ?? this.opts.timeoutMs;
    return new Promise((resolve, reject) => {
      const job = { op, cmd, ms, resolve, reject, done: false, started: false };
      job.timer = setTimeout(() => this._timeout(job), ms);
      if (this.running < this.opts.maxInFlight) {
        this._run(job);
      } else if (this.queue.length < this.opts.maxQueue) {
        this.queue.push(job);
      } else {
        this.counters.queueFull++;
        this._settle(job, new AuthGuardQueueFullError(op, this.opts.maxQueue));
      }
    });
  }

  async close() {
    this.closed = true;
    for (const job of this.queue.splice(0)) this._settle(job, new AuthGuardClosedError(job.op));
    await Promise.all([...this.children].map((c) => new Promise((r) => c.once('close', r))));
  }

  _run(job) {
    job.started = true;
    this.running++;
    const { cmd } = job;
    const bin = cmd.bin === 'webhook' ? this.opts.webhookHelper : this.opts.helper;
    const args = [...(this.opts.conf ? ['--conf', String(this.opts.conf)] : []), ...cmd.args];
    const stdio = ['pipe', 'pipe', 'pipe'];
    let child;
    try {
      child = spawn(bin, args, { stdio, env: { ...this.opts.env }, shell: false, windowsHide: true });
    } catch (err) {
      this._done(job, new AuthGuardUnavailableError(job.op, err));
      return;
    }
    this.counters.spawned++;
    job.child = child;
    this.children.add(child);
    const out = [];
    let outBytes = 0;
    let err = '';
    let tooLong = false;
    child.stdout.on('data', (c) => {
      outBytes += c.length;
      if (outBytes > this.opts.maxAnswerBytes) {
        tooLong = true;
        child.kill('SIGKILL');
      } else {
        out.push(c);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => { err = (err + s).slice(-2000); });
    child.stdin.on('error', () => {});
    child.stdin.end(cmd.stdin);
    let spawnErr = null;
    child.on('error', (e) => { if (child.pid === undefined) spawnErr = e; });
    child.on('close', (code, signal) => {
      this.children.delete(child);
      const stderr = err.trim().split('\n').pop() || undefined;
      if (spawnErr) return this._done(job, new AuthGuardUnavailableError(job.op, spawnErr));
      if (tooLong) return this._done(job, new AuthGuardProtocolError(job.op, 'answer too long'));
      if (signal || code === null || code > 3) {
        return this._done(job, new AuthGuardHelperExitedError(job.op, {
          reason: signal ? `killed by ${signal}` : `exited with status ${code}`, exitCode: code, signal, stderr,
        }));
      }
      const text = Buffer.concat(out).toString('utf8').trim();
      if (text === '') {
        // Errors in the command line or its input print only a message:
        // the batch protocol's error object.
        const status = code === 0 ? 3 : code;
        return this._done(job, null, {
          error: status === 3 ? 'internal' : 'usage',
          message: (stderr ?? '').replace(/^authguard-(token|webhook): /, ''),
          status,
        });
      }
      let ans;
      try {
        ans = JSON.parse(text);
      } catch {
        return this._done(job, new AuthGuardProtocolError(job.op, 'answer is not JSON'));
      }
      if (ans === null || typeof ans !== 'object' || Array.isArray(ans)) {
        return this._done(job, new AuthGuardProtocolError(job.op, 'answer is not a JSON object'));
      }
      ans.status = code;
      return this._done(job, null, ans);
    });
  }

  _done(job, err, value) {
    this.running--;
    this._settle(job, err, value);
    while (this.queue.length > 0 && this.running < this.opts.maxInFlight) {
      const next = this.queue.shift();
      if (!next.done) this._run(next);
    }
  }

  _timeout(job) {
    if (job.done) return;
    this.counters.timeouts++;
    if (!job.started) {
      const i = this.queue.indexOf(job);
      if (i !== -1) this.queue.splice(i, 1);
      this._settle(job, new AuthGuardTimeoutError(job.op, job.ms, false));
      return;
    }
    this._settle(job, new AuthGuardTimeoutError(job.op, job.ms, true));
    try { job.child?.kill('SIGKILL'); } catch { /* gone */ }
  }

  _settle(job, err, value) {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    if (err) job.reject(err);
    else job.resolve(value);
  }
}
