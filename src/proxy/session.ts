// One client connection end to end: startup, upstream connection, authentication relay, then statement relay through
// the pipeline. Owns both sockets; every close has a CloseReason.
import type net from 'node:net';
import type { Logger } from 'pino';
import { ConnectionLimitError, ShuttingDown, InternalError, PgwardenError, ProtocolError, UpstreamError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TextFacts } from '../sql/types.js';
import type { Actor } from '../policy/verdict.js';
import { BackendCode, FrontendCode, type TxStatus } from './codes.js';
import { withoutChannelBinding } from './auth-relay.js';
import { writePieces } from './socket-writer.js';
import { backendKeyData, negotiateProtocolVersion, toErrorResponse } from './backend.js';
import { Framer } from './framer.js';
import { encodeCancel, encodeStartup, isReplication, readStartupPacket, type StartupPacket } from './startup.js';
import { connectUpstream, sendOneShot, type UpstreamTarget } from './upstream.js';
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
  /** A CancelRequest whose key this instance does not hold: pass it to the instance that minted it (app wires Redis). */
  forwardCancel?(pid: number, secret: number): void;
  /** The agent's human owner for a user name (config `identities`), who may never approve its requests. */
  ownerOf?(user: string): string | undefined;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  functionCallFacts?(oid: number): TextFacts;
  /** True when authenticated connections are at the client limit: this one is refused after its StartupMessage. */
  isOverLimit(): boolean;
  readonly maxClients: number;
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
  private startupBuf: Buffer = Buffer.alloc(0);
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

  constructor(
    private readonly client: net.Socket,
    private readonly deps: SessionDeps,
    id: string,
  ) {
    this.id = id;
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
      if (this.state === SessionState.startup) return this.onStartupData(chunk);
      if (this.state === SessionState.connecting) {
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
        // Only password / SASL messages are valid before authentication completes.
        if (frame.code !== 0x70) throw ProtocolError.unexpected(`message '${String.fromCharCode(frame.code)}' before authentication completed`);
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

  private onStartupData(chunk: Buffer): void {
    this.startupBuf = this.startupBuf.length ? Buffer.concat([this.startupBuf, chunk]) : chunk;
    for (;;) {
      const read = readStartupPacket(this.startupBuf, this.deps.options.maxStartupMessageSize);
      if (!read) return;
      const rest = this.startupBuf.subarray(read.length);
      this.startupBuf = rest;
      const packet = read.packet;
      if (packet.type === 'ssl' || packet.type === 'gssenc') {
        // Bytes sent after SSLRequest but before our answer would be read as TLS or as plaintext by mistake.
        if (rest.length > 0) throw ProtocolError.malformed(`data received after ${packet.type === 'ssl' ? 'SSLRequest' : 'GSSENCRequest'} before its answer`);
        this.client.write(Buffer.from('N'));
        continue;
      }
      if (packet.type === 'cancel') return this.onCancelRequest(packet);
      void this.onStartupMessage(packet, rest);
      return;
    }
  }

  private onCancelRequest(packet: Extract<StartupPacket, { type: 'cancel' }>): void {
    const target = this.deps.cancelKeys.lookup(packet.pid, packet.secret);
    if (target) target.cancel();
    else this.deps.forwardCancel?.(packet.pid, packet.secret);
    this.close(CloseReason.cancelRequest);
  }

  /** CancelRequest aimed at this session: withdraw a held statement, or pass the cancel to the upstream backend. */
  cancel(): void {
    if (this.pipeline.cancelHeld()) return;
    if (this.upstreamKey) void sendOneShot(this.deps.options.upstream, encodeCancel(this.upstreamKey.pid, this.upstreamKey.secret), 5000);
  }

  private async onStartupMessage(packet: Extract<StartupPacket, { type: 'startup' }>, rest: Buffer): Promise<void> {
    if (this.deps.isOverLimit()) return this.fatal(new ConnectionLimitError(this.deps.maxClients), CloseReason.tooManyConnections);
    if (isReplication(packet.params)) return this.fatal(ProtocolError.replicationRefused());
    const params = new Map<string, string>();
    const unrecognized: string[] = [];
    for (const [k, v] of packet.params) {
      if (k.startsWith('_pq_.')) unrecognized.push(k);
      else params.set(k, v);
    }
    // A newer minor version or protocol options: tell the client what we speak (3.0), as PostgreSQL does.
    if (packet.minor > 0 || unrecognized.length > 0) this.client.write(negotiateProtocolVersion(0, unrecognized));
    this.actor = { user: params.get('user') ?? '', application: params.get('application_name') ?? '', address: this.client.remoteAddress ?? '' };
    const owner = this.deps.ownerOf?.(this.actor.user);
    if (owner) this.actor = { ...this.actor, owner };
    this.database = params.get('database') ?? this.actor.user;
    this.state = SessionState.connecting;
    this.startupBuf = Buffer.alloc(0);
    if (rest.length > 0) this.onClientData(rest);
    const refused = await judgeStartupSettings(params, { gate: this.deps.gate(), actor: this.actor, database: this.database, connectionId: this.id }).catch((err: unknown) => err);
    if (refused !== null) return this.fatal(refused);
    if ((this.state as SessionState) === SessionState.closed) return;
    const started = process.hrtime.bigint();
    let upstream: net.Socket;
    try {
      upstream = await connectUpstream(this.deps.options.upstream, this.deps.options.connectTimeoutMs);
    } catch (err) {
      if (err instanceof UpstreamError) this.deps.metrics?.upstreamConnectErrors.inc({ code: /\b(E[A-Z]+)\b/.exec(err.message)?.[1] ?? 'error' });
      return this.fatal(err, CloseReason.upstreamUnavailable);
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
    upstream.write(encodeStartup(params));
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
          this.onAuthenticated();
          return 'pass';
        }
        return this.attribute(code, msg.length, msg);
      }
      case BackendCode.ParameterStatus: {
        const body = msg.subarray(5);
        const nameEnd = body.indexOf(0);
        const name = body.toString('utf8', 0, nameEnd);
        const value = body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1));
        if (name === 'application_name') this.actor = { ...this.actor, application: value };
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
      case BackendCode.Authentication:
        return withoutChannelBinding(msg) ?? 'pass';
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

  private onAuthenticated(): void {
    this.state = SessionState.ready;
    this.deps.onAuthenticated(this);
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.startupTimer = null;
    this.framer.setLimit(this.deps.options.maxMessageSize);
    this.deps.logger.debug({ conn: this.id, user: this.actor.user, database: this.database, application: this.actor.application }, 'client authenticated');
  }

  private writeClient(pieces: Buffer[]): void {
    if (this.client.destroyed) return;
    if (!writePieces(this.client, pieces)) this.upstream?.pause();
  }

  private onUpstreamGone(): void {
    if (this.state === SessionState.closed) return;
    this.close(this.authRejected ? CloseReason.authFailed : CloseReason.upstreamClosed);
  }

  /** When the client connected (ms since the epoch): how long a handshake has taken. */
  readonly openedAt = Date.now();

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
    const closeReason = reason ?? (error instanceof ProtocolError ? CloseReason.protocolViolation : CloseReason.internalError);
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
