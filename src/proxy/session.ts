// One client connection end to end: startup, upstream connection, authentication relay, then statement relay through
// the pipeline. Owns both sockets; every close has a CloseReason.
import type net from 'node:net';
import type { Logger } from 'pino';
import { AuthError, ShuttingDown, InternalError, PgwardenError, ProtocolError, UpstreamError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TextFacts } from '../sql/types.js';
import type { Actor } from '../policy/verdict.js';
import { BackendCode, FrontendCode, type TxStatus } from './codes.js';
import { saysClientCouldBind, withoutChannelBinding } from './auth-relay.js';
import { writePieces } from './socket-writer.js';
import { backendKeyData, toErrorResponse } from './backend.js';
import { Framer } from './framer.js';
import { encodeCancel, isReplication } from './startup.js';
import { sendOneShot, type UpstreamTarget } from './upstream.js';
import type { StartupMessage } from './startup-phase.js';
import type { Login } from './auth/login.js';
import type { IdentityConnections } from './auth/throttle.js';
import { clientApplicationName, IdentitySlot, openSessionUpstream, sessionActor, type IdentityFacts } from './session-upstream.js';
import type { CancelKeys } from './cancel-keys.js';
import { BackendRelay, type InspectResult } from './relay.js';
import { Pipeline } from './pipeline.js';
import type { Gate } from './gate.js';
import { CloseReason, SessionState } from './session-state.js';
import { LexerState } from './lexer-state.js';
import { judgeStartupSettings } from './startup-gate.js';

export interface SessionOptions {
  readonly upstream: UpstreamTarget;
  readonly startupTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxMessageSize: number;
  /** limits.max_statement_size: Query/Parse texts longer than this are refused (54000) before decoding or parsing. */
  readonly maxStatementSize: number;
  readonly maxStartupMessageSize: number;
}

export interface SessionDeps {
  readonly options: SessionOptions;
  /** Current gate (read on every statement, so a rules reload takes effect at once). */
  gate(): Gate;
  readonly cancelKeys: CancelKeys;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  functionCallFacts?(oid: number): TextFacts;
  /** Owner, groups and connection limit of identities (config `identities`, `auth`). */
  readonly identities?: IdentityFacts;
  readonly identityConnections?: IdentityConnections;
  /** The session finished authentication (it leaves the pre-authentication count). */
  onAuthenticated(session: Session): void;
  onClose(session: Session, reason: CloseReason): void;
}

/** While a statement is held, keep reading (to notice a disconnect) but stop once this much is buffered. */
const HELD_READ_LIMIT = 1 << 20;

export class Session {
  state: SessionState = SessionState.startup;
  readonly id: string;
  txStatus: TxStatus = 'I';
  actor: Actor = { user: '', application: '', address: '' };
  database = '';
  /** client_encoding / server_encoding / standard_conforming_strings as the server reports them (ParameterStatus). */
  readonly lexer = new LexerState();
  private upstream: net.Socket | null = null;
  /** Client bytes that arrive while the upstream connection is being opened (pipelined password messages). */
  private readonly early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly framer: Framer;
  private readonly relay: BackendRelay;
  private readonly pipeline: Pipeline;
  private upstreamKey: { pid: number; secret: number } | null = null;
  private clientKey: { pid: number; secret: number } | null = null;
  private startupTimer: NodeJS.Timeout | null;
  private readonly upOut: Buffer[] = [];
  /** Shutting down: no new statement starts; the session closes with 57P01 once nothing is outstanding. */
  private draining = false;
  /** The server refused authentication (its ErrorResponse was relayed): the close that follows is auth_failed. */
  private authRejected = false;
  /** Set when pgwarden authenticated the client itself (null: passthrough). */
  private login: Login | null = null;
  /** The upstream offered SCRAM-SHA-256-PLUS and the client was shown the offer without it (passthrough). */
  private bindingStripped = false;
  /** This session's place in its identity's connection limit. */
  private readonly slot: IdentitySlot;

  constructor(
    private readonly client: net.Socket,
    private readonly deps: SessionDeps,
    id: string,
    /** When the client connected (the startup phase before this session counts). */
    readonly openedAt = Date.now(),
  ) {
    this.id = id;
    this.slot = new IdentitySlot(deps.identityConnections, deps.identities);
    this.framer = new Framer(deps.options.maxStartupMessageSize);
    this.relay = new BackendRelay(
      { header: (code, length) => this.onBackendHeader(code, length), inspect: (code, msg) => this.inspectBackend(code, msg) },
      (pieces) => this.writeClient(pieces),
    );
    const session = this;
    this.pipeline = new Pipeline({
      get gate() {
        return deps.gate();
      },
      get actor() {
        return session.actor;
      },
      get database() {
        return session.database;
      },
      get txStatus() {
        return session.txStatus;
      },
      lexer: this.lexer,
      maxStatementSize: deps.options.maxStatementSize,
      connectionId: id,
      forward: (bytes) => this.upOut.push(bytes),
      toClient: (bytes) => this.relay.inject(bytes),
      onHoldChange: (held) => this.onHoldChange(held),
      terminate: () => this.close(CloseReason.clientTerminate),
      fail: (err) => this.fatal(err),
      ...(deps.functionCallFacts ? { functionCallFacts: deps.functionCallFacts } : {}),
    });
    this.actor = { user: '', application: '', address: client.remoteAddress ?? '' };
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('drain', () => this.upstream?.resume());
    client.on('error', () => this.close(CloseReason.clientClosed));
    client.on('close', () => this.close(CloseReason.clientClosed));
    this.startupTimer = setTimeout(() => this.fatal(ProtocolError.startupTimeout(deps.options.startupTimeoutMs), CloseReason.startupTimeout), deps.options.startupTimeoutMs);
    this.startupTimer.unref();
  }

  // ── client → upstream ────────────────────────────────────────────────────────────────────────────────

  private onClientData(chunk: Buffer): void {
    try {
      if (this.state === SessionState.startup || this.state === SessionState.connecting) {
        // Kept as a list (joined once) and bounded like any message: a client cannot stream into this buffer.
        this.earlyBytes += chunk.length;
        if (this.earlyBytes > this.deps.options.maxStartupMessageSize) throw ProtocolError.malformed('more data than a password message before the server answered the startup');
        this.early.push(chunk);
        return;
      }
      this.framer.push(chunk);
      this.pump();
    } catch (err) {
      this.fatal(err);
    }
  }

  private pump(): void {
    if (this.state === SessionState.closed) return;
    if (this.draining && !this.pipeline.isHeld) {
      // Nothing new starts; what a refusal queued for the server (its marker) still goes out.
      this.flushUpstream();
      return this.closeIfDrained();
    }
    if (this.pipeline.isHeld) {
      // A client that gives up sends Terminate and waits for us to close: honour it (the held request is withdrawn).
      if (this.framer.contains(FrontendCode.Terminate)) return this.close(CloseReason.clientTerminate);
      if (this.framer.pending > HELD_READ_LIMIT) this.client.pause();
      return;
    }
    for (let frame = this.framer.next(); frame; frame = this.framer.next()) {
      if (this.state === SessionState.authenticating) {
        // Only password / SASL messages are valid before authentication completes, and none once pgwarden authenticated.
        if (frame.code !== 0x70 || this.login) throw ProtocolError.unexpected(`message '${String.fromCharCode(frame.code)}' before authentication completed`);
        if (this.bindingStripped && saysClientCouldBind(frame.bytes)) throw AuthError.channelBindingThroughProxy();
        this.upOut.push(frame.bytes);
        continue;
      }
      if (!this.pipeline.handle(frame)) break;
      if ((this.state as SessionState) === SessionState.closed) return;
    }
    this.flushUpstream();
  }

  private flushUpstream(): void {
    const up = this.upstream;
    if (!up || this.upOut.length === 0) return;
    const ok = writePieces(up, this.upOut.splice(0));
    if (!ok) {
      this.client.pause();
      up.once('drain', () => {
        if (!this.pipeline.isHeld) this.client.resume();
      });
    }
  }

  private onHoldChange(held: boolean): void {
    this.state = held ? SessionState.held : SessionState.ready;
    if (!held) {
      this.client.resume();
      try {
        this.pump();
      } catch (err) {
        this.fatal(err);
      }
    } else {
      this.flushUpstream();
    }
  }

  // ── startup ──────────────────────────────────────────────────────────────────────────────────────────

  /** Starts the session with the StartupMessage the startup phase read, and the Login when pgwarden authenticated the client. */
  start(packet: StartupMessage, rest: Buffer, login: Login | null): void {
    this.login = login;
    void this.onStartupMessage(packet, rest);
  }

  /** CancelRequest aimed at this session: withdraw a held statement, or pass the cancel to the upstream backend. */
  cancel(): void {
    if (this.pipeline.cancelHeld()) return;
    if (this.upstreamKey) void sendOneShot(this.deps.options.upstream, encodeCancel(this.upstreamKey.pid, this.upstreamKey.secret), 5000);
  }

  private async onStartupMessage(packet: StartupMessage, rest: Buffer): Promise<void> {
    if (isReplication(packet.params)) return this.fatal(ProtocolError.replicationRefused());
    const params = new Map<string, string>();
    // Protocol options (_pq_.*) were answered with NegotiateProtocolVersion by the startup phase and go no further.
    for (const [k, v] of packet.params) if (!k.startsWith('_pq_.')) params.set(k, v);
    this.actor = sessionActor(params, this.login, this.deps.identities, this.client.remoteAddress ?? '');
    this.database = params.get('database') ?? params.get('user') ?? '';
    const overIdentityLimit = this.login ? this.slot.take(this.login.identity) : null;
    if (overIdentityLimit) return this.fatal(overIdentityLimit, CloseReason.tooManyConnections);
    this.state = SessionState.connecting;
    if (rest.length > 0) this.onClientData(rest);
    const refused = await judgeStartupSettings(params, { gate: this.deps.gate(), actor: this.actor, database: this.database, connectionId: this.id }).catch((err: unknown) => err);
    if (refused !== null) return this.fatal(refused);
    if ((this.state as SessionState) === SessionState.closed) return;
    const started = process.hrtime.bigint();
    let upstream: net.Socket;
    let first: Buffer;
    try {
      ({ socket: upstream, first } = await openSessionUpstream(this.deps.options.upstream, params, this.login, this.deps.options.connectTimeoutMs, { logger: this.deps.logger, connectionId: this.id }));
    } catch (err) {
      if (err instanceof UpstreamError) this.deps.metrics?.upstreamConnectErrors.inc({ code: /\b(E[A-Z]+)\b/.exec(err.message)?.[1] ?? 'error' });
      return this.fatal(err, err instanceof AuthError ? CloseReason.authFailed : CloseReason.upstreamUnavailable);
    }
    this.deps.metrics?.upstreamConnectSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if ((this.state as SessionState) === SessionState.closed) {
      upstream.destroy();
      return;
    }
    this.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      try {
        this.relay.push(chunk);
      } catch (err) {
        this.fatal(err);
      }
    });
    upstream.on('drain', () => {
      if (!this.pipeline.isHeld) this.client.resume();
    });
    upstream.on('error', () => this.onUpstreamGone());
    upstream.on('close', () => this.onUpstreamGone());
    this.state = SessionState.authenticating;
    this.relay.push(first);
    upstream.resume();
    const early = Buffer.concat(this.early.splice(0));
    this.earlyBytes = 0;
    if (early.length > 0) this.onClientData(early);
  }

  // ── upstream → client ────────────────────────────────────────────────────────────────────────────────

  /** Every backend message's header: attribute it to the message it answers; say which ones are needed whole. */
  private onBackendHeader(code: number, length: number): boolean {
    switch (code) {
      case BackendCode.ReadyForQuery:
      case BackendCode.ParameterStatus:
      case BackendCode.CopyBothResponse:
        return true;
      case BackendCode.Authentication:
      case BackendCode.BackendKeyData:
        if (this.state === SessionState.authenticating) return true;
        break;
      case BackendCode.ErrorResponse:
        if (this.state === SessionState.authenticating || this.pipeline.replies.errorNeedsBody) return true;
        break;
      default:
        break;
    }
    if (this.state !== SessionState.authenticating) this.attribute(code, length, null);
    return false;
  }

  private attribute(code: number, length: number, msg: Buffer | null): InspectResult {
    const result = this.pipeline.replies.onBackend(code, length, msg);
    this.pipeline.onReplyProgress();
    if (this.draining && code === BackendCode.ReadyForQuery) queueMicrotask(() => this.closeIfDrained());
    return result;
  }

  private inspectBackend(code: number, msg: Buffer): InspectResult {
    switch (code) {
      case BackendCode.ReadyForQuery: {
        this.txStatus = String.fromCharCode(msg[5]!) as TxStatus;
        if (this.state === SessionState.authenticating) {
          const refused = this.onAuthenticated();
          // Over its identity's limit: the client gets FATAL 53300 in place of ReadyForQuery, and the connection ends.
          if (refused) return (setImmediate(() => this.close(CloseReason.tooManyConnections)), toErrorResponse(refused));
          return 'pass';
        }
        return this.attribute(code, msg.length, msg);
      }
      case BackendCode.ParameterStatus: {
        const body = msg.subarray(5);
        const nameEnd = body.indexOf(0);
        const name = body.toString('utf8', 0, nameEnd);
        const value = body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1));
        if (name === 'application_name') this.actor = { ...this.actor, application: clientApplicationName(value, this.login) };
        else this.lexer.update(name, value);
        return 'pass';
      }
      case BackendCode.ErrorResponse: {
        if (this.state === SessionState.authenticating) {
          this.authRejected = true;
          return 'pass';
        }
        return this.attribute(code, msg.length, msg);
      }
      case BackendCode.Authentication: {
        const stripped = withoutChannelBinding(msg);
        this.bindingStripped ||= stripped !== null;
        return stripped ?? 'pass';
      }
      case BackendCode.BackendKeyData: {
        this.upstreamKey = { pid: msg.readInt32BE(5), secret: msg.readInt32BE(9) };
        this.clientKey = this.deps.cancelKeys.register(this);
        return backendKeyData(this.clientKey.pid, this.clientKey.secret);
      }
      case BackendCode.CopyBothResponse:
        this.fatal(ProtocolError.unsupported('COPY BOTH (replication streaming)'));
        return 'drop';
      default:
        return 'pass';
    }
  }

  /** The first ReadyForQuery. Returns an error when the passthrough identity is over its connection limit. */
  private onAuthenticated(): PgwardenError | null {
    this.state = SessionState.ready;
    this.deps.onAuthenticated(this);
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.startupTimer = null;
    this.framer.setLimit(this.deps.options.maxMessageSize);
    this.deps.logger.debug({ conn: this.id, user: this.actor.user, identity: this.actor.identity, auth: this.actor.auth, database: this.database, application: this.actor.application }, 'client authenticated');
    if (this.login) return null;
    this.deps.metrics?.authentications.inc({ method: 'passthrough', outcome: 'success' });
    // Passthrough names are counted once the server accepted them: an unauthenticated client cannot use up another's quota.
    return this.slot.take(this.actor.user);
  }

  private writeClient(pieces: Buffer[]): void {
    if (this.client.destroyed) return;
    if (!writePieces(this.client, pieces)) this.upstream?.pause();
  }

  private onUpstreamGone(): void {
    if (this.state === SessionState.closed) return;
    if (this.authRejected && !this.login && this.state === SessionState.authenticating) this.deps.metrics?.authentications.inc({ method: 'passthrough', outcome: 'failure' });
    this.close(this.authRejected ? CloseReason.authFailed : CloseReason.upstreamClosed);
  }

  /** No StartupMessage yet (nor SSLRequest answered into one): a silent socket, first to make room when slots run out. */
  get isSilent(): boolean {
    return this.state === SessionState.startup;
  }

  // ── graceful shutdown ───────────────────────────────────────────────────────────────────────────────

  /**
   * Shutdown begins: a session still starting, or idle, gets FATAL 57P01 now; a held statement is withdrawn (57014,
   * reason shutdown) and the session closes after that answer; a running statement may finish (proxy drain() gives it
   * the grace period, then cancels it upstream). No new statement is started meanwhile.
   */
  drain(): void {
    if (this.state === SessionState.closed || this.draining) return;
    this.draining = true;
    if (this.state !== SessionState.ready && this.state !== SessionState.held) return this.fatal(new ShuttingDown(), CloseReason.shutdown);
    if (this.pipeline.withdrawHeld('shutdown')) return;
    this.closeIfDrained();
  }

  /** The grace period is over: cancel what still runs upstream, with the upstream's own cancel key. */
  cancelRunning(): void {
    if (this.upstreamKey && this.state !== SessionState.closed) void sendOneShot(this.deps.options.upstream, encodeCancel(this.upstreamKey.pid, this.upstreamKey.secret), 5000);
  }

  private closeIfDrained(): void {
    if (!this.draining || this.state === SessionState.closed || this.pipeline.isHeld || this.pipeline.replies.size > 0) return;
    this.fatal(new ShuttingDown(), CloseReason.shutdown);
  }

  // ── errors and close ─────────────────────────────────────────────────────────────────────────────────

  /** Sends a FATAL error (or an ERROR, for non-fatal pgwarden errors) and closes. */
  fatal(err: unknown, reason?: CloseReason): void {
    if (this.state === SessionState.closed) return;
    let error: PgwardenError;
    if (err instanceof PgwardenError) error = err;
    else {
      const ref = Math.random().toString(36).slice(2, 10);
      this.deps.logger.error({ conn: this.id, ref, err }, 'internal error; closing connection');
      error = new InternalError(ref, true, err);
    }
    const closeReason = reason ?? (error instanceof ProtocolError ? CloseReason.protocolViolation : error instanceof AuthError ? CloseReason.authFailed : CloseReason.internalError);
    if (!this.client.destroyed) {
      this.client.end(toErrorResponse(error));
    }
    this.close(closeReason);
  }

  close(reason: CloseReason): void {
    if (this.state === SessionState.closed) return;
    this.state = SessionState.closed;
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.pipeline.clientGone();
    if (this.clientKey) this.deps.cancelKeys.unregister(this.clientKey.pid, this.clientKey.secret);
    this.slot.release();
    const up = this.upstream;
    if (up && !up.destroyed) {
      // Terminate lets the server end the backend at once instead of noticing a dead socket later.
      up.end(Buffer.from([0x58, 0, 0, 0, 4]));
      setTimeout(() => up.destroy(), 1000).unref();
    }
    if (reason === CloseReason.clientTerminate || reason === CloseReason.clientClosed) this.client.destroy();
    else if (!this.client.destroyed) this.client.end();
    this.deps.onClose(this, reason);
  }
}
