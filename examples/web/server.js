// Starts the reference application on 127.0.0.1.
//
// Environment:
//   PORT                 port to listen on (default 0: any free port; the
//                        chosen one is printed: "listening on http://127.0.0.1:PORT")
//   USERS_FILE           the user file (users.js; default ./users.json)
//   AUTHGUARD_CONF       the helpers' --conf (default: their own default)
//   AUTHGUARD_TOKEN      authguard-token   (default /usr/bin/authguard-token)
//   AUTHGUARD_ENROLL     authguard-enroll  (default /usr/bin/authguard-enroll)
//   AUTHGUARD_WEBHOOK    authguard-webhook (default /usr/bin/authguard-webhook)
//   AUTHGUARD_TRANSPORT  batch (default: one supervised co-process), oneshot,
//                        or socket (a running authguardd)
//   AUTHGUARD_SOCKET     the daemon's socket for socket (default
//                        /run/authguard/authguardd.sock)
//   AUTHGUARD_TEST_TIME  passed to the helpers when set (test builds only)
//   AUTHGUARD_ISSUER     the issuer shown by authenticator apps
// The helpers get no other variable from this environment.

import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuthGuard } from 'authguard-client';

import { createApp } from './app.js';
import { Enroller } from './enroll.js';
import { Users } from './users.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const helperEnv = env.AUTHGUARD_TEST_TIME ? { AUTHGUARD_TEST_TIME: env.AUTHGUARD_TEST_TIME } : {};

const ag = new AuthGuard({
  transport: env.AUTHGUARD_TRANSPORT || 'batch',
  helper: env.AUTHGUARD_TOKEN || undefined,
  webhookHelper: env.AUTHGUARD_WEBHOOK || undefined,
  conf: env.AUTHGUARD_CONF || undefined,
  socketPath: env.AUTHGUARD_SOCKET || undefined,
  env: helperEnv,
});
ag.on('exit', (e) => { if (!e.expected) process.stderr.write(`authguard-token ${e.pid} ended: ${e.reason}\n`); });

const enroller = new Enroller({
  helper: env.AUTHGUARD_ENROLL || undefined,
  conf: env.AUTHGUARD_CONF || undefined,
  env: helperEnv,
});
const users = new Users(env.USERS_FILE || join(here, 'users.json'));
const app = createApp({
  ag, users, enroller,
  issuer: env.AUTHGUARD_ISSUER || 'authguard example',
  log: (line) => process.stderr.write(`${line}\n`),
});

ag.start();
const server = createServer(app);
server.listen(Number(env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

async function stop() {
  server.close();
  server.closeAllConnections?.();
  await ag.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
