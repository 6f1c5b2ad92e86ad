// Errors of the client.  Every one of them means "deny": a caller that
// catches an AuthGuardError must refuse the login or the request, never
// let it through.  A refusal by the helper (status 1: wrong code, locked,
// expired token...) is not an error but a result with ok === false.

export class AuthGuardError extends Error {
  constructor(message, code, extra = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    Object.assign(this, extra);
  }
}

// Status 2: the request or the configuration is wrong (usage, config,
// keys, state, too_large, invalid_claim).  .error is the answer's error
// word, .answer the raw answer.
export class AuthGuardUsageError extends AuthGuardError {
  constructor(op, answer) {
    super(`authguard ${op}: ${answer?.error ?? 'usage'}: ${answer?.message ?? 'refused as a usage or configuration error'}`,
      'EAUTHGUARD_USAGE', { op, status: 2, error: answer?.error ?? 'usage', answer });
  }
}

// The helper does not know the op (an older helper): status 2, "unknown op".
export class AuthGuardUnsupportedOpError extends AuthGuardUsageError {
  constructor(op, answer) {
    super(op, answer);
    this.code = 'EAUTHGUARD_UNSUPPORTED_OP';
  }
}

// Status 3: the state or the helper failed (store locked too long, I/O).
export class AuthGuardInternalError extends AuthGuardError {
  constructor(op, answer) {
    super(`authguard ${op}: internal error${answer?.message ? `: ${answer.message}` : ''}`,
      'EAUTHGUARD_INTERNAL', { op, status: 3, error: answer?.error ?? 'internal', answer });
  }
}

// No answer within the request's timeout.  sent: whether the request had
// been written to the helper (if so, it may or may not have taken effect).
export class AuthGuardTimeoutError extends AuthGuardError {
  constructor(op, timeoutMs, sent) {
    super(`authguard ${op}: no answer within ${timeoutMs} ms`, 'EAUTHGUARD_TIMEOUT', { op, timeoutMs, sent });
  }
}

// The helper process ended (or was stopped) while the request was in
// flight: it may or may not have taken effect.
export class AuthGuardHelperExitedError extends AuthGuardError {
  constructor(op, detail) {
    super(`authguard ${op}: helper ended before answering (${detail.reason})`, 'EAUTHGUARD_HELPER_EXITED',
      { op, ...detail });
  }
}

// The socket transport's connection to authguardd closed (the daemon
// stopped or dropped it, or a request on it timed out) while the request
// was in flight: it may or may not have taken effect, and it is never
// sent again.  A kind of AuthGuardHelperExitedError, so that code written
// for the batch transport treats both alike.
export class AuthGuardDisconnectedError extends AuthGuardHelperExitedError {
  constructor(op, detail) {
    super(op, detail);
    this.message = `authguard ${op}: connection to authguardd closed before the answer (${detail.reason})`;
    this.code = 'EAUTHGUARD_DISCONNECTED';
  }
}

// The helper cannot be started at all (missing or not executable), or
// authguardd cannot be reached (socket transport: no socket, refused):
// the request was not carried out.
export class AuthGuardUnavailableError extends AuthGuardError {
  constructor(op, cause) {
    super(`authguard ${op}: ${cause?.syscall === 'connect' ? 'authguardd' : 'helper'} unavailable: ${cause?.message ?? cause}`, 'EAUTHGUARD_UNAVAILABLE', { op, cause });
  }
}

// Back-pressure: the queue of waiting requests is full.  Answer 503.
export class AuthGuardQueueFullError extends AuthGuardError {
  constructor(op, limit) {
    super(`authguard ${op}: too many requests waiting (${limit})`, 'EAUTHGUARD_QUEUE_FULL', { op, limit });
  }
}

// The helper answered something that is not an answer to this request
// (not JSON, another id): the stream cannot be trusted, the helper is
// restarted.
export class AuthGuardProtocolError extends AuthGuardError {
  constructor(op, detail) {
    super(`authguard ${op}: protocol error: ${detail}`, 'EAUTHGUARD_PROTOCOL', { op });
  }
}

// The client was closed.
export class AuthGuardClosedError extends AuthGuardError {
  constructor(op) {
    super(`authguard ${op}: client closed`, 'EAUTHGUARD_CLOSED', { op });
  }
}
