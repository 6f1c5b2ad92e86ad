// The demo's user file: e-mail -> scrypt hash (node:crypto), one JSON
// object.  A demo only: a real application keeps its users where it
// always has, and checks passwords as it always has; what this example
// shows is everything around that check.
//
//   node users.js FILE add EMAIL      (the password on stdin, one line)
//
// A hash reads "scrypt$N$r$p$salt$key" (salt and key base64url), so the
// cost can differ per user.

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const DEFAULT = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

function scryptAsync(password, salt, { N, r, p }) {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password, params = DEFAULT) {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function parse(hash) {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash ?? '');
  if (!m) return null;
  return { params: { N: +m[1], r: +m[2], p: +m[3] }, salt: Buffer.from(m[4], 'base64url'), key: Buffer.from(m[5], 'base64url') };
}

export class Users {
  constructor(file) {
    this.file = file;
    const data = JSON.parse(readFileSync(file, 'utf8'));
    this.users = new Map(Object.entries(data.users ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    // An unknown e-mail address costs the same hash as a known one, so the
    // answer time does not tell which addresses have an account.
    const first = parse([...this.users.values()][0]?.scrypt);
    this.dummy = { params: first?.params ?? DEFAULT, salt: randomBytes(16), key: randomBytes(KEYLEN) };
  }

  async verify(email, password) {
    const u = this.users.get(String(email).toLowerCase());
    const h = (u && parse(u.scrypt)) || this.dummy;
    const key = await scryptAsync(String(password), h.salt, h.params);
    return Boolean(u) && h !== this.dummy && key.length === h.key.length && timingSafeEqual(key, h.key);
  }
}

async function main(argv) {
  const [file, cmd, email] = argv;
  if (cmd !== 'add' || !file || !email) {
    process.stderr.write('usage: node users.js FILE add EMAIL   (password on stdin)\n');
    process.exit(2);
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length === 0) {
    process.stderr.write('users.js: no password on stdin\n');
    process.exit(2);
  }
  let data = { users: {} };
  try { data = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { if (e.code !== 'ENOENT') throw e; }
  data.users ??= {};
  data.users[email.toLowerCase()] = { scrypt: await hashPassword(password) };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e) => { process.stderr.write(`users.js: ${e.message}\n`); process.exit(1); });
}
