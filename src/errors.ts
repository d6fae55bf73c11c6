// The one registry of pgwarden errors: id, SQLSTATE, severity and wording. Leaf module (imports nothing from src/).
// docs/errors.md lists every id; test/unit/errors.test.ts fails when the two disagree.

/** SQLSTATE codes pgwarden itself sends. Upstream errors are relayed byte for byte and never appear here. */
export const SqlState = {
  protocolViolation: '08P01',
  tooManyConnections: '53300',
  invalidPassword: '28P01',
  invalidAuthorization: '28000',
  connectionFailure: '08006',
  insufficientPrivilege: '42501',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  systemError: '58000',
  inFailedTransaction: '25P02',
  featureNotSupported: '0A000',
  programLimitExceeded: '54000',
  characterNotInRepertoire: '22021',
  invalidSqlStatementName: '26000',
  invalidCursorName: '34000',
  internalError: 'XX000',
} as const;
export type SqlState = (typeof SqlState)[keyof typeof SqlState];

export type Severity = 'ERROR' | 'FATAL';

export interface ErrorFields {
  readonly detail?: string;
  readonly hint?: string;
  readonly cause?: unknown;
}

/** Base of every error pgwarden shows a client. `message` always starts with `pgwarden:`. */
export abstract class PgwardenError extends Error {
  abstract readonly id: string;
  abstract readonly sqlstate: SqlState;
  abstract readonly severity: Severity;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, fields: ErrorFields = {}) {
    super(message.startsWith('pgwarden:') ? message : `pgwarden: ${message}`, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }
}

/** Malformed, out-of-order or oversized frontend message. FATAL: closes this connection only. */
export class ProtocolError extends PgwardenError {
  readonly sqlstate = SqlState.protocolViolation;
  readonly severity = 'FATAL' as const;
  constructor(readonly id: `PGW_PROTO_${string}`, message: string, fields?: ErrorFields) {
    super(message, fields);
  }
  static messageTooLarge(code: string, length: number, max: number): ProtocolError {
    return new ProtocolError('PGW_PROTO_MESSAGE_TOO_LARGE', `message '${code}' of ${length} bytes exceeds the limit of ${max} bytes`, {
      hint: 'Raise limits.max_message_size in the pgwarden config if such large statements are expected.',
    });
  }
  static malformed(what: string): ProtocolError {
    return new ProtocolError('PGW_PROTO_MALFORMED', `malformed frontend message: ${what}`);
  }
  static unexpected(what: string): ProtocolError {
    return new ProtocolError('PGW_PROTO_UNEXPECTED', `unexpected frontend message: ${what}`);
  }
  static replicationRefused(): ProtocolError {
    return new ProtocolError('PGW_PROTO_REPLICATION_REFUSED', 'replication connections are not supported through pgwarden', {
      hint: 'Connect replication clients directly to the PostgreSQL server.',
    });
  }
  static startupTimeout(ms: number): ProtocolError {
    return new ProtocolError('PGW_PROTO_STARTUP_TIMEOUT', `the connection did not complete its startup within ${ms} ms`);
  }
  static evictedSilent(): ProtocolError {
    return new ProtocolError('PGW_PROTO_STARTUP_TIMEOUT', 'closed before its startup message arrived: every pre-authentication slot was taken and this connection had waited longest', {
      hint: 'Send the startup message promptly after connecting.',
    });
  }
  static unsupported(what: string): ProtocolError {
    return new ProtocolError('PGW_PROTO_UNSUPPORTED', `${what} is not supported through pgwarden`);
  }
}

/** Too many client connections. */
export class ConnectionLimitError extends PgwardenError {
  readonly id = 'PGW_CONN_LIMIT';
  readonly sqlstate = SqlState.tooManyConnections;
  readonly severity = 'FATAL' as const;
  constructor(max: number, preAuthentication = false) {
    super(
      preAuthentication ? `too many connections are still authenticating (limit ${max}); try again shortly` : `too many client connections (limit ${max})`,
      { hint: preAuthentication ? 'Connections that have not finished their handshake have their own limit, limits.max_preauth_connections.' : 'Close idle connections or raise limits.max_client_connections.' },
    );
  }
}

/** Too many connections of one authenticated identity (`auth.max_connections_per_identity` or `identities.<name>.max_connections`). */
export class IdentityConnectionLimitError extends PgwardenError {
  readonly id = 'PGW_CONN_IDENTITY_LIMIT';
  readonly sqlstate = SqlState.tooManyConnections;
  readonly severity = 'FATAL' as const;
  constructor(identity: string, max: number) {
    super(`too many connections for identity "${identity}" (limit ${max})`, { hint: 'Close idle connections of this agent or use a pool; the operator can raise the per-identity limit.' });
  }
}

/**
 * Authentication pgwarden terminates itself (SCRAM, OIDC token, client certificate) or TLS it requires. A failed
 * credential always gets the same message, whatever was wrong (unknown name, wrong password, expired or forged token):
 * the details go to the log only.
 */
export class AuthError extends PgwardenError {
  readonly severity = 'FATAL' as const;
  constructor(
    readonly id: `PGW_AUTH_${string}` | `PGW_TLS_${string}`,
    readonly sqlstate: SqlState,
    message: string,
    fields?: ErrorFields,
  ) {
    super(message, fields);
  }
  static failed(user: string): AuthError {
    return new AuthError('PGW_AUTH_FAILED', SqlState.invalidPassword, `authentication failed for user "${user}"`);
  }
  static tlsRequired(): AuthError {
    return new AuthError('PGW_TLS_REQUIRED', SqlState.invalidAuthorization, 'this pgwarden accepts only TLS connections (tls.required)', {
      hint: 'Connect with sslmode=require, verify-ca or verify-full.',
    });
  }
  static tokenNeedsTls(): AuthError {
    return new AuthError('PGW_AUTH_TOKEN_NEEDS_TLS', SqlState.invalidAuthorization, 'token authentication is accepted only over TLS: the token would cross the network in clear', {
      hint: 'Connect with sslmode=verify-full (or at least require).',
    });
  }
  static certificateRequired(): AuthError {
    return new AuthError('PGW_AUTH_CERT_REQUIRED', SqlState.invalidAuthorization, 'this database accepts only clients with a verified TLS client certificate', {
      hint: 'Connect over TLS with sslcert and sslkey set to a certificate the operator issued.',
    });
  }
  static channelBindingThroughProxy(): AuthError {
    return new AuthError('PGW_AUTH_CHANNEL_BINDING', SqlState.invalidAuthorization, 'SCRAM channel binding cannot pass through pgwarden: the client binds to its TLS connection with pgwarden, the server to its own', {
      hint: "Set channel_binding=disable in the client's connection string, or let pgwarden authenticate this database (auth: scram) and hold the upstream credential.",
    });
  }
  static noUpstreamRole(identity: string): AuthError {
    return new AuthError('PGW_AUTH_NO_UPSTREAM_ROLE', SqlState.invalidAuthorization, `identity "${identity}" has no upstream database role mapped`, {
      hint: 'The operator maps it under identities.<name>.upstream, auth.groups.<group>.upstream or auth.upstream.',
    });
  }
  static upstreamRefused(identity: string): AuthError {
    return new AuthError('PGW_AUTH_UPSTREAM_REFUSED', SqlState.invalidAuthorization, `the upstream server refused the credential pgwarden holds for identity "${identity}"`, {
      hint: 'Retry later; the operator checks the upstream credential of this identity (details are in the pgwarden log).',
    });
  }
}

/** Upstream PostgreSQL unreachable or closed. Names host:port and the errno, never credentials. */
export class UpstreamError extends PgwardenError {
  readonly id = 'PGW_UPSTREAM_UNAVAILABLE';
  readonly sqlstate = SqlState.connectionFailure;
  readonly severity = 'FATAL' as const;
  constructor(target: string, why: string, fields?: ErrorFields) {
    super(`upstream PostgreSQL at ${target} is unavailable: ${why}`, {
      hint: 'Check that the server named in --upstream is running and reachable from pgwarden.',
      ...fields,
    });
  }
}

/** A rule denied the statement. */
export class PolicyDenied extends PgwardenError {
  readonly id = 'PGW_POLICY_DENIED';
  readonly sqlstate = SqlState.insufficientPrivilege;
  readonly severity = 'ERROR' as const;
  constructor(readonly rule: string | null, reason: string, fields?: ErrorFields) {
    super(`statement denied by rule "${rule ?? 'default'}": ${reason}`, {
      hint: 'Narrow the statement (fewer rows, named columns, no privileged functions) or ask an operator to change the policy.',
      ...fields,
    });
  }
}

/** A human approver denied the statement. */
export class ApprovalDenied extends PgwardenError {
  readonly id = 'PGW_APPROVAL_DENIED';
  readonly sqlstate = SqlState.insufficientPrivilege;
  readonly severity = 'ERROR' as const;
  constructor(readonly requestId: string, readonly rule: string | null, by: string, reason: string) {
    super(`request ${requestId} (rule "${rule ?? 'default'}") was denied by ${by}${reason ? `: ${reason}` : ''}`, {
      hint: 'Change the statement as the approver asked, or state why you need it with a /* reason: ... */ comment and try again.',
    });
  }
}

/** No approver decided before the request expired. */
export class ApprovalExpired extends PgwardenError {
  readonly id = 'PGW_APPROVAL_EXPIRED';
  readonly sqlstate = SqlState.queryCanceled;
  readonly severity = 'ERROR' as const;
  constructor(readonly requestId: string, readonly rule: string | null, timeoutText: string) {
    super(`request ${requestId} (rule "${rule ?? 'default'}") expired after ${timeoutText} without a decision`, {
      hint: 'Try again later when an approver is available, or add a /* reason: ... */ comment so approvers can decide faster.',
    });
  }
}

/** The client cancelled a statement while it waited for approval (Postgres answers a cancel with 57014 too). */
export class ApprovalWithdrawn extends PgwardenError {
  readonly id = 'PGW_APPROVAL_WITHDRAWN';
  readonly sqlstate = SqlState.queryCanceled;
  readonly severity = 'ERROR' as const;
  constructor(
    readonly requestId: string,
    readonly reason: string = 'client_cancel',
  ) {
    super(withdrawnWording(requestId, reason));
  }
}

/** The reason decides the words: a client's own cancel reads like PostgreSQL's, the others say what happened. */
function withdrawnWording(requestId: string, reason: string): string {
  switch (reason) {
    case 'shutdown':
      return `pgwarden is shutting down; approval request ${requestId} was withdrawn before a decision`;
    case 'instance_lost':
      return `approval request ${requestId} was withdrawn: this pgwarden instance lost contact with the shared approval store for too long`;
    default:
      return `canceling statement due to user request; approval request ${requestId} was withdrawn`;
  }
}

/** pgwarden is stopping (SIGTERM/SIGINT): sent to sessions as they become idle, or when the shutdown grace ends. */
export class ShuttingDown extends PgwardenError {
  readonly id = 'PGW_SHUTTING_DOWN';
  readonly sqlstate = SqlState.adminShutdown;
  readonly severity = 'FATAL' as const;
  constructor(afterGrace = false) {
    super(afterGrace ? 'pgwarden is shutting down; the statement was cancelled after the shutdown grace period' : 'pgwarden is shutting down', {
      hint: 'Reconnect: another pgwarden instance (or this one, once restarted) will serve you.',
    });
  }
}

/** Review needed but no approval channel is configured. */
export class ApprovalNotConfigured extends PgwardenError {
  readonly id = 'PGW_APPROVAL_NOT_CONFIGURED';
  readonly sqlstate = SqlState.insufficientPrivilege;
  readonly severity = 'ERROR' as const;
  constructor(readonly rule: string | null) {
    super(`approval required by rule "${rule ?? 'default'}" but no approval channel is configured`, {
      hint: 'Ask an operator to configure approvals, or run a statement the policy allows.',
    });
  }
}

/** The approval store (Redis) cannot be reached: statements that need review fail closed. */
export class ApprovalsUnavailable extends PgwardenError {
  readonly id = 'PGW_APPROVALS_UNAVAILABLE';
  readonly sqlstate = SqlState.systemError;
  readonly severity = 'ERROR' as const;
  constructor(why: string, fields?: ErrorFields) {
    super(`approvals are unavailable (${why}); statements that need review are refused until the approval store is reachable`, {
      hint: 'Retry later. Statements the policy allows keep working.',
      ...fields,
    });
  }
}

/** A result grew past its row budget and was not approved to continue. */
export class RowBudgetExceeded extends PgwardenError {
  readonly id = 'PGW_ROW_BUDGET_EXCEEDED';
  readonly sqlstate = SqlState.insufficientPrivilege;
  readonly severity = 'ERROR' as const;
  constructor(maxRows: number, fields?: ErrorFields) {
    super(`result exceeded the row budget of ${maxRows} rows`, {
      hint: 'Add a LIMIT or a narrower WHERE clause.',
      ...fields,
    });
  }
}

/** The audit record a statement needs could not be written and audit.required is on. */
export class AuditUnavailable extends PgwardenError {
  readonly id = 'PGW_AUDIT_UNAVAILABLE';
  readonly sqlstate = SqlState.systemError;
  readonly severity = 'ERROR' as const;
  constructor(why: string) {
    super(`the audit record for this statement could not be written (${why}); refused because audit.required is on`, {
      hint: 'Retry later; an operator must restore the audit destination.',
    });
  }
}

/** After an error inside a transaction block, everything but ROLLBACK/COMMIT answers this, as PostgreSQL does. */
export class InFailedTransaction extends PgwardenError {
  readonly id = 'PGW_TX_ABORTED';
  readonly sqlstate = SqlState.inFailedTransaction;
  readonly severity = 'ERROR' as const;
  constructor() {
    super('current transaction is aborted, commands ignored until end of transaction block', {
      hint: 'A statement in this transaction was refused by pgwarden. Send ROLLBACK and retry.',
    });
  }
}

/** A Query or Parse text longer than limits.max_statement_size: refused before it is decoded or parsed. */
export class StatementTooLarge extends PgwardenError {
  readonly id = 'PGW_STATEMENT_TOO_LARGE';
  readonly sqlstate = SqlState.programLimitExceeded;
  readonly severity = 'ERROR' as const;
  constructor(length: number, max: number) {
    super(`statement text of ${length} bytes exceeds limits.max_statement_size (${max} bytes)`, {
      hint: 'Send large values as bind parameters or COPY data (those may be as large as limits.max_message_size), or ask the operator to raise limits.max_statement_size.',
    });
  }
}

/** A statement text that cannot be read in the session's client_encoding the way the server reads it. */
export class TextNotDecodable extends PgwardenError {
  readonly id = 'PGW_TEXT_UNDECODABLE';
  readonly sqlstate = SqlState.characterNotInRepertoire;
  readonly severity = 'ERROR' as const;
  constructor(reason: string) {
    super(`the statement text cannot be read the way the server reads it: ${reason}`, {
      hint: 'Use client_encoding UTF8 (docs/protocol.md lists the encodings pgwarden reads), or send such characters as bind parameters.',
    });
  }
}

/**
 * A text whose reading depends on client_encoding or standard_conforming_strings arrived behind statements of the same
 * pipeline (before Sync) that may have changed them and that the server has not confirmed yet.
 */
export class LexerStateUnconfirmed extends PgwardenError {
  readonly id = 'PGW_LEXER_STATE_UNCONFIRMED';
  readonly sqlstate = SqlState.featureNotSupported;
  readonly severity = 'ERROR' as const;
  constructor() {
    super('a statement text with non-ASCII characters or backslashes cannot be decided behind other statements of the same pipeline before Sync: they may change client_encoding or standard_conforming_strings', {
      hint: 'Send Sync (end the pipeline) before this statement, or pass such values as bind parameters.',
    });
  }
}

/** Bind of a prepared statement pgwarden has not seen the server create (or has seen it deallocated). */
export class UnknownPreparedStatement extends PgwardenError {
  readonly id = 'PGW_UNKNOWN_STATEMENT';
  readonly sqlstate = SqlState.invalidSqlStatementName;
  readonly severity = 'ERROR' as const;
  constructor(name: string) {
    super(`prepared statement ${JSON.stringify(name)} does not exist as far as pgwarden has seen the server confirm it`, {
      hint: 'Prepare the statement again (Parse or PREPARE) on this connection; pgwarden decides only statements it saw the server accept.',
    });
  }
}

/** Execute of a portal pgwarden has not seen the server create. */
export class UnknownPortal extends PgwardenError {
  readonly id = 'PGW_UNKNOWN_PORTAL';
  readonly sqlstate = SqlState.invalidCursorName;
  readonly severity = 'ERROR' as const;
  constructor(name: string) {
    super(`portal ${JSON.stringify(name)} does not exist as far as pgwarden has seen the server confirm it`, {
      hint: 'Bind the portal again in this transaction; SQL cursors are read with FETCH, not with the protocol Execute message.',
    });
  }
}

/** A startup parameter (or a switch in `options`) that the rules do not allow as a SET statement. */
export class StartupSettingRefused extends PgwardenError {
  readonly id = 'PGW_STARTUP_SETTING_REFUSED';
  readonly sqlstate = SqlState.insufficientPrivilege;
  readonly severity = 'FATAL' as const;
  constructor(setting: string, source: string, why: string) {
    super(`startup setting ${setting} (${source}) refused: ${why.replace(/^pgwarden: /, '')}`, {
      hint: 'Connect without it; run the equivalent SET after connecting, where it can be reviewed.',
    });
  }
}

/** Anything unexpected. Details go to the log under `ref`, never to the client. */
export class InternalError extends PgwardenError {
  readonly id = 'PGW_INTERNAL';
  readonly sqlstate = SqlState.internalError;
  readonly severity: Severity;
  constructor(readonly ref: string, fatal = false, cause?: unknown) {
    super(`internal error (ref ${ref})`, { cause });
    this.severity = fatal ? 'FATAL' : 'ERROR';
  }
}

/** Startup-only failures: bad config or rule files. Printed as `file:line:col: reason` and exit code 2. */
export class ConfigError extends Error {
  readonly id = 'PGW_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export class RuleFileError extends Error {
  readonly id = 'PGW_RULES_INVALID';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'RuleFileError';
  }
}
