// authguard-client: the Node client of pam_authguard's web helpers.
export { AuthGuard, createAuthGuard, OPS } from './src/client.js';
export { BatchTransport } from './src/batch.js';
export { OneShotTransport } from './src/oneshot.js';
export { SocketTransport } from './src/socket.js';
export {
  applyHeaders, readCookie, requireBearer, requireSession, DEFAULT_COOKIE,
} from './src/middleware.js';
export {
  AuthGuardError,
  AuthGuardUsageError,
  AuthGuardUnsupportedOpError,
  AuthGuardInternalError,
  AuthGuardTimeoutError,
  AuthGuardHelperExitedError,
  AuthGuardDisconnectedError,
  AuthGuardUnavailableError,
  AuthGuardQueueFullError,
  AuthGuardProtocolError,
  AuthGuardClosedError,
} from './src/errors.js';
