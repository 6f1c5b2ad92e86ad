// Type declarations of authguard-client.  The wire protocol is described in
// man authguard-token(1), "batch"; JavaScript names are its camelCase.

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

// ------------------------------------------------------------ options

export interface AuthGuardOptions {
  /** 'batch' (default): one supervised `authguard-token batch` process;
   *  'oneshot': one helper process per call; 'socket': the Unix socket of
   *  a running authguardd (man authguardd), which holds the state and the
   *  keys (helper, webhookHelper, conf, env and onStderr do not apply). */
  transport?: 'batch' | 'oneshot' | 'socket';
  /** socket: authguardd's socket (default /run/authguard/authguardd.sock,
   *  daemon_socket of authguard.conf). */
  socketPath?: string;
  /** socket: connections at most (default 4); a new one is opened when
   *  every open one has a request in flight. */
  connections?: number;
  /** socket: an idle connection is closed after this long (default
   *  10000 ms; keep it below the daemon's daemon_idle_timeout). */
  idleTimeoutMs?: number;
  /** Path of authguard-token (default /usr/bin/authguard-token). */
  helper?: string;
  /** Path of authguard-webhook, for webhookReceive with the one-shot
   *  transport (default /usr/bin/authguard-webhook). */
  webhookHelper?: string;
  /** --conf for the helper (default: the helper's own default). */
  conf?: string;
  /** The helper's whole environment (default {}: nothing is passed
   *  through from this process). */
  env?: Record<string, string>;
  /** Requests written to the helper and not yet answered (batch, default
   *  64), over all connections (socket, 64), or helper processes at once
   *  (oneshot, default 8). */
  maxInFlight?: number;
  /** Callers waiting for a slot beyond maxInFlight (default 1024); one more
   *  fails at once with AuthGuardQueueFullError.  0: never wait. */
  maxQueue?: number;
  /** Per request, waiting included (default 20000 ms). */
  timeoutMs?: number;
  /** First restart delay after a helper that died without answering
   *  anything; doubles up to maxRestartDelayMs (defaults 100, 5000).
   *  socket: the back-off after a failed connect, during which calls fail
   *  at once with AuthGuardUnavailableError (defaults 100, 2000). */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Longest answer line accepted (default 16 MiB; socket 2 MiB). */
  maxAnswerBytes?: number;
  /** How long close() lets the helper answer what is in flight. */
  closeTimeoutMs?: number;
  /** Where the helper's stderr lines (messages for people, never secrets)
   *  go: default process.stderr; null drops them. */
  onStderr?: ((line: string, info: { pid?: number }) => void) | null;
}

export interface CallOptions {
  timeoutMs?: number;
}

// ------------------------------------------------------------ results

/** The helper's answer as it came (snake_case), with status and id. */
export type RawAnswer = Record<string, unknown> & { status: 0 | 1 | 2 | 3; id?: number | string };

export interface Result {
  /** status === 0 */
  ok: boolean;
  /** 0: done / valid / allowed; 1: refused (a normal result). */
  status: 0 | 1;
  raw: RawAnswer;
}

/** End of a lock in seconds since the epoch, 'never' (only an
 *  administrator unlocks), or null. */
export type LockedUntil = number | 'never' | null;

export type GuardReason =
  | 'locked' | 'busy' | 'host_busy' | 'host_locked' | 'too_early' | 'host_too_early';

export interface GuardCheckResult extends Result {
  allowed: boolean;
  /** When allowed: pass it to guardFailure / guardSuccess. */
  attempt?: number;
  reason: GuardReason | null;
  /** Seconds before an attempt may be allowed; -1: administrator only. */
  retryAfter: number;
  lockedUntil: LockedUntil;
  failures: number;
  hostFailures: number;
}

export interface GuardFailureResult extends Result {
  reason: null;
  /** Seconds before the next attempt may start. */
  retryAfter: number;
  lockedUntil: LockedUntil;
  failures: number;
  hostFailures: number;
}

export interface GuardSuccessResult extends Result {
  allowed: boolean;
  reason: GuardReason | null;
  retryAfter: number;
  lockedUntil: LockedUntil;
  failures: number;
  hostFailures: number;
}

export interface MfaVerifyResult extends Result {
  valid: boolean;
  method?: 'totp' | 'backup';
  backupCodesLeft?: number;
  reason?: 'wrong' | 'replayed' | 'malformed' | 'not_enrolled' | 'locked';
  failures?: number;
  lockedUntil?: LockedUntil;
  retryAfter?: number;
}

export interface IssueResult extends Result {
  token: string;
  jti: string;
  exp: number;
  refreshToken?: string;
  refreshExpires?: number;
  valid?: false;
  reason?: string;
}

export type JwtClaims = Record<string, unknown> & {
  iss: string; sub: string; aud: string | string[]; iat: number; nbf: number; exp: number; jti: string; sid?: string;
};

export interface VerifyResult extends Result {
  valid: boolean;
  claims?: JwtClaims;
  /** When refused: too_large, malformed, expired, revoked, session_ended... */
  reason?: string;
}

export interface RefreshResult extends Result {
  valid?: boolean;
  token?: string;
  jti?: string;
  exp?: number;
  refreshToken?: string;
  refreshExpires?: number;
  sub?: string;
  /** When refused: malformed, unknown, expired, revoked, reused, not_yet_valid. */
  reason?: string;
}

export interface RevokeResult extends Result {
  revoked: boolean;
  jti?: string;
  until?: number;
  families?: number;
  valid?: boolean;
  reason?: string;
}

export interface JwksResult extends Result {
  keys: Array<Record<string, string>>;
}

export interface SessionInfo {
  user: string;
  /** The exact bytes in hex when the user name is not UTF-8. */
  userHex?: string;
  sid: string;
  created: number;
  lastSeen: number;
  idleExpires: number;
  expires: number;
  clerkSession: string | null;
  clerkSessionHex?: string;
}

export interface SessionCreateResult extends Result, Partial<SessionInfo> {
  /** The session id: send it only in the cookie (setCookie). */
  session?: string;
  /** The whole header line: apply it with applyHeaders(). */
  setCookie?: string;
  evicted?: number;
  valid?: false;
  reason?: 'limit';
}

export interface SessionCheckResult extends Result, Partial<SessionInfo> {
  valid: boolean;
  /** When the check slid the idle expiry: the cookie again (optional). */
  setCookie?: string;
  reason?: 'malformed' | 'unknown' | 'expired' | 'fingerprint_mismatch';
}

export interface SessionRotateResult extends Result, Partial<SessionInfo> {
  session?: string;
  setCookie?: string;
  valid?: false;
  reason?: 'malformed' | 'unknown' | 'expired';
}

export interface SessionListResult extends Result {
  user: string;
  userHex?: string;
  sessions: SessionInfo[];
}

export interface SessionEndResult extends Result {
  sessionsEnded: number;
  familiesRevoked: number;
}

export interface LogoutResult extends Result {
  loggedOut: boolean;
  sessionsEnded: number;
  familiesRevoked: number;
  accessTokenRevoked: boolean;
  /** "Set-Cookie: ..." and "Clear-Site-Data: ..." lines: applyHeaders(). */
  headers: string[];
}

export interface WebhookReceiveResult extends Result {
  valid: boolean;
  /** The message id (svix-id), when well-formed: the answer's id. */
  messageId?: string;
  type?: string;
  action?: 'sessions_ended' | 'user_sessions_ended' | 'ignored';
  sessionsEnded?: number;
  familiesRevoked?: number | null;
  /** When refused: missing_header, bad_header, bad_timestamp,
   *  stale_timestamp, future_timestamp, no_v1_signature, bad_signature,
   *  replayed, bad_body. */
  reason?: string;
}

// ------------------------------------------------------------ requests

export type UserAgentFields =
  | { userAgent: string; userAgentHash?: never; attrs?: string[] }
  | { userAgentHash: string; userAgent?: never; attrs?: never };

export type RevokeRequest =
  | { token: string }
  | { jti: string }
  | { refreshToken: string; family: true }
  | { user: string };

export type SessionEndRequest = { session: string } | { sid: string } | { user: string };

export interface Stats {
  pid?: number;
  inFlight: number;
  queued: number;
  spawned?: number;
  timeouts: number;
  queueFull: number;
  exited?: number;
  killed?: number;
  /** socket transport */
  socketPath?: string;
  connections?: number;
  connects?: number;
  disconnects?: number;
  dropped?: number;
  unavailable?: number;
}

export declare const OPS: readonly string[];

export declare class AuthGuard extends EventEmitter {
  constructor(options?: AuthGuardOptions);
  readonly transportName: 'batch' | 'oneshot' | 'socket';
  /** The current helper's pid (batch). */
  readonly pid: number | undefined;
  stats(): Stats;
  /** Starts the helper now rather than at the first request. */
  start(): this;
  /** Replaces the helper: the old one finishes what it has in flight. */
  restart(): void;
  /** Fails queued requests, lets in-flight ones finish, stops the helper. */
  close(options?: { timeoutMs?: number }): Promise<unknown>;
  /** The raw call: wire op and snake_case fields; the raw answer
   *  (status 0 or 1), or a throw. */
  call(op: string, fields?: Record<string, unknown>, options?: CallOptions): Promise<RawAnswer>;

  guardCheck(req: { subject: string; ip?: string }, options?: CallOptions): Promise<GuardCheckResult>;
  guardFailure(req: { subject: string; ip?: string; attempt?: number }, options?: CallOptions): Promise<GuardFailureResult>;
  guardSuccess(req: { subject: string; ip?: string; attempt?: number }, options?: CallOptions): Promise<GuardSuccessResult>;
  mfaVerify(req: { user: string; code: string; ip?: string }, options?: CallOptions): Promise<MfaVerifyResult>;

  issue(req: {
    sub: string; aud?: string; sid?: string; ttl?: number; refresh?: boolean; claims?: Record<string, unknown>;
  }, options?: CallOptions): Promise<IssueResult>;
  verify(req: { token: string }, options?: CallOptions): Promise<VerifyResult>;
  refresh(req: { refreshToken: string }, options?: CallOptions): Promise<RefreshResult>;
  revoke(req: RevokeRequest, options?: CallOptions): Promise<RevokeResult>;
  jwks(options?: CallOptions): Promise<JwksResult>;

  sessionCreate(req: { user: string; clerkSession?: string } & UserAgentFields, options?: CallOptions): Promise<SessionCreateResult>;
  sessionCheck(req: { session: string } & UserAgentFields, options?: CallOptions): Promise<SessionCheckResult>;
  sessionRotate(req: { session: string }, options?: CallOptions): Promise<SessionRotateResult>;
  sessionList(req: { user: string }, options?: CallOptions): Promise<SessionListResult>;
  sessionEnd(req: SessionEndRequest, options?: CallOptions): Promise<SessionEndResult>;
  logout(req: { session?: string; token?: string; refreshToken?: string }, options?: CallOptions): Promise<LogoutResult>;

  webhookReceive(req: { headers: Record<string, string>; body: string | Uint8Array }, options?: CallOptions): Promise<WebhookReceiveResult>;

  /** The helper's Set-Cookie line(s) that clear the session cookie. */
  clearCookieHeaders(options?: CallOptions): Promise<string[]>;

  on(event: 'spawn', listener: (info: { pid: number }) => void): this;
  on(event: 'exit', listener: (info: { pid?: number; reason: string; exitCode?: number | null; signal?: string | null; stderr?: string; expected: boolean }) => void): this;
  on(event: 'restart', listener: (info: { delay: number }) => void): this;
  on(event: 'stderr', listener: (line: string, info: { pid?: number }) => void): this;
  /** socket transport: a connection opened, closed (expected: closed by
   *  this client), or the daemon could not be reached. */
  on(event: 'connect', listener: (info: { socketPath: string; connection: number }) => void): this;
  on(event: 'disconnect', listener: (info: { socketPath: string; connection: number; expected: boolean }) => void): this;
  on(event: 'unavailable', listener: (info: { socketPath: string; reason: string; retryInMs: number }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare function createAuthGuard(options?: AuthGuardOptions): AuthGuard;

export declare class BatchTransport extends EventEmitter {
  constructor(options?: AuthGuardOptions);
  /** withoutId: match the answer by order alone (an answer with an id
   *  member of its own). */
  request(op: string, fields: Record<string, unknown>, options?: CallOptions & { withoutId?: boolean }): Promise<RawAnswer>;
}
export declare class SocketTransport extends EventEmitter {
  constructor(options?: AuthGuardOptions);
  request(op: string, fields: Record<string, unknown>, options?: CallOptions & { withoutId?: boolean }): Promise<RawAnswer>;
}
export declare class OneShotTransport {
  constructor(options?: AuthGuardOptions);
  request(op: string, fields: Record<string, unknown>, options?: CallOptions): Promise<RawAnswer>;
}

// ------------------------------------------------------------ middleware

export interface AuthGuardRequestState {
  session?: SessionCheckResult;
  token?: VerifyResult;
  /** The refused result (null: no cookie / no bearer token). */
  refusal?: SessionCheckResult | VerifyResult | null;
}

export type AuthGuardIncoming = IncomingMessage & { authguard?: AuthGuardRequestState };

// What the middleware sets, on every request object (Express's Request
// extends IncomingMessage).
declare module 'http' {
  interface IncomingMessage {
    authguard?: AuthGuardRequestState;
  }
}
export type Next = (err?: unknown) => void;
export type Middleware = (req: AuthGuardIncoming, res: ServerResponse, next: Next) => Promise<void>;

export declare const DEFAULT_COOKIE: '__Host-ag_session';

export declare function requireSession(ag: AuthGuard, options?: {
  /** Must equal session_cookie of authguard.conf (default __Host-ag_session). */
  cookieName?: string;
  /** Extra fingerprint values, the same as given to sessionCreate. */
  attrs?: (req: IncomingMessage) => string[];
  /** Answers a refusal instead of the default 401 (the cookie is already
   *  cleared). */
  onRefused?: (req: AuthGuardIncoming, res: ServerResponse, result: SessionCheckResult | null) => void;
}): Middleware;

export declare function requireBearer(ag: AuthGuard, options?: {
  realm?: string;
  onRefused?: (req: AuthGuardIncoming, res: ServerResponse, result: VerifyResult | null) => void;
}): Middleware;

/** Applies "Name: value" header lines exactly as given: a string, an
 *  array, or a result holding setCookie / headers. */
export declare function applyHeaders(
  res: ServerResponse,
  source: string | string[] | { setCookie?: string; headers?: string[] } | RawAnswer | null | undefined,
): void;

export declare function readCookie(reqOrHeader: IncomingMessage | string, name?: string): string | undefined;

// ------------------------------------------------------------ errors

export declare class AuthGuardError extends Error {
  code: string;
  op?: string;
}
/** Status 2: usage, config, keys, state, too_large, invalid_claim. */
export declare class AuthGuardUsageError extends AuthGuardError {
  status: 2;
  error: string;
  answer: RawAnswer;
}
/** Status 2 with "unknown op": the helper is older than this client. */
export declare class AuthGuardUnsupportedOpError extends AuthGuardUsageError {}
/** Status 3. */
export declare class AuthGuardInternalError extends AuthGuardError {
  status: 3;
  error: string;
  answer: RawAnswer;
}
export declare class AuthGuardTimeoutError extends AuthGuardError {
  timeoutMs: number;
  /** Whether the request reached the helper (it may have taken effect). */
  sent: boolean;
}
export declare class AuthGuardHelperExitedError extends AuthGuardError {
  reason: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The helper's last stderr line. */
  stderr?: string;
}
/** socket transport: the connection closed with the request in flight (it
 *  may have taken effect; never sent again). */
export declare class AuthGuardDisconnectedError extends AuthGuardHelperExitedError {}
/** The helper cannot be started, or authguardd cannot be reached: the
 *  request was not carried out. */
export declare class AuthGuardUnavailableError extends AuthGuardError {
  cause: unknown;
}
export declare class AuthGuardQueueFullError extends AuthGuardError {
  limit: number;
}
export declare class AuthGuardProtocolError extends AuthGuardError {}
export declare class AuthGuardClosedError extends AuthGuardError {}
