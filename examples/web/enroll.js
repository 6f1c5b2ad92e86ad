// MFA enrollment through authguard-enroll(1), one process per call (there
// is no batch mode for it): --json output, codes on stdin, never a shell,
// never a secret in argv.  Returns { status, answer }: status is the exit
// code (0 done, 1 refused, 2 usage/config, 3 internal), answer the JSON
// object printed (null when only a message was printed).
//
// Naming another account with --user is for root only (see PRIVILEGES in
// the man page): this demo runs the helper as it runs itself.

import { spawn } from 'node:child_process';

export class Enroller {
  constructor({ helper = '/usr/bin/authguard-enroll', conf, env = {}, timeoutMs = 10000 } = {}) {
    Object.assign(this, { helper, conf, env, timeoutMs });
  }

  run(user, mode, stdin = '') {
    const args = [...(this.conf ? ['--conf', this.conf] : []), '--user', user, '--json', ...mode];
    return new Promise((resolve, reject) => {
      const child = spawn(this.helper, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...this.env }, shell: false });
      const out = [];
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.stdout.on('data', (c) => out.push(c));
      child.stderr.setEncoding('utf8').on('data', (s) => { err = (err + s).slice(-2000); });
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (signal || code === null) return reject(new Error(`authguard-enroll: ${signal ?? 'no exit status'}`));
        const text = Buffer.concat(out).toString('utf8').trim();
        let answer = null;
        try { answer = text ? JSON.parse(text) : null; } catch { return reject(new Error('authguard-enroll: output is not JSON')); }
        if (code >= 2) return reject(new Error(`authguard-enroll: status ${code}: ${err.trim().split('\n').pop() ?? ''}`));
        return resolve({ status: code, answer });
      });
    });
  }

  status(user) { return this.run(user, ['--status']); }

  start(user, issuer) { return this.run(user, issuer ? ['--issuer', issuer] : []); }

  confirm(user, code) { return this.run(user, ['--confirm'], `${code}\n`); }
}
