// Connection states and close reasons: closed sets, used for logs and metrics.

export const SessionState = {
  /** Reading SSLRequest/GSSENCRequest/CancelRequest/StartupMessage. */
  startup: 'startup',
  /** Opening the upstream connection. */
  connecting: 'connecting',
  /** Relaying authentication until the first ReadyForQuery. */
  authenticating: 'authenticating',
  /** Relaying statements. */
  ready: 'ready',
  /** Waiting for a decision on a statement (the client is not read meanwhile). */
  held: 'held',
  closed: 'closed',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

export const CloseReason = {
  clientTerminate: 'client_terminate',
  clientClosed: 'client_closed',
  upstreamClosed: 'upstream_closed',
  upstreamUnavailable: 'upstream_unavailable',
  protocolViolation: 'protocol_violation',
  startupTimeout: 'startup_timeout',
  authFailed: 'auth_failed',
  /** Plaintext StartupMessage while tls.required is on. */
  tlsRequired: 'tls_required',
  tlsHandshakeFailed: 'tls_handshake_failed',
  cancelRequest: 'cancel_request',
  tooManyConnections: 'too_many_connections',
  /** Refused at accept: too many connections still in their handshake (limits.max_preauth_connections). */
  tooManyPreauth: 'too_many_preauth',
  shutdown: 'shutdown',
  internalError: 'internal_error',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];
