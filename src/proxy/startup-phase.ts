// The startup phase of a client connection, before a Session exists: TLS negotiation (SSLRequest, PostgreSQL 17 direct
// TLS), GSSENCRequest refusal, CancelRequest, the StartupMessage, tls.required, and authentication on routes where
// pgwarden terminates it. Owns the pre-authentication budget (time and bytes). Ends by handing a Session the socket
// (plain or TLS), the StartupMessage, the bytes read after it and, when pgwarden authenticated the client, its Login.
// @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { AuthError, InternalError, PgwardenError, ProtocolError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { AuthMethod } from '../policy/verdict.js';
import { negotiateProtocolVersion, toErrorResponse } from './backend.js';
import { FrontendCode } from './codes.js';
import { Framer } from './framer.js';
import { CloseReason } from './session-state.js';
import { readStartupPacket, type StartupPacket } from './startup.js';
import { authenticationOk } from './auth/messages.js';
import type { Authenticator } from './auth/authenticate.js';
import type { AuthConversation, Login } from './auth/login.js';
import { TLS_HANDSHAKE_BYTE, TlsHandshakeError, upgradeToTls } from './tls/negotiate.js';
import type { ServerTls } from './tls/server-tls.js';

export type StartupMessage = Extract<StartupPacket, { type: 'startup' }>;

export interface StartupPhaseOptions {
  /** Null: TLS is not configured and SSLRequest is answered 'N'. */
  readonly serverTls: ServerTls | null;
  readonly tlsRequired: boolean;
  readonly maxStartupMessageSize: number;
  /** Bytes a client may send until it is authenticated (after the TLS layer). */
  readonly maxPreAuthBytes: number;
  /** Time from connect until the phase ends. */
  readonly timeoutMs: number;
  /** The authentication method of a database route. */
  routeOf(database: string): AuthMethod;
  readonly authenticator: Authenticator | null;
}

export interface StartupPhaseDeps {
  readonly options: StartupPhaseOptions;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** A CancelRequest arrived: act on the key (local or routed). */
  cancel(pid: number, secret: number): void;
  /** The refusal when authenticated connections are at the client limit (checked at the StartupMessage, as PostgreSQL does), else null. */
  overLimit(): PgwardenError | null;
}

export type StartupOutcome =
  | { readonly kind: 'session'; readonly socket: net.Socket; readonly packet: StartupMessage; readonly rest: Buffer; readonly login: Login | null }
  | { readonly kind: 'closed'; readonly reason: CloseReason };

/** The startup phase of one freshly accepted socket; `done` settles (never rejects) when a Session takes over or the socket closed. */
export class StartupPhase {
  readonly done: Promise<StartupOutcome>;
  /** When the client connected (ms since the epoch): how long its handshake has taken. */
  readonly openedAt = Date.now();
  /** True until a StartupMessage (or CancelRequest) arrives: a silent socket, first to make room when slots run out. */
  private sawStartup = false;
  private resolve!: (outcome: StartupOutcome) => void;
  private socket: net.Socket;
  private secure: tls.TLSSocket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private received = 0;
  private finished = false;
  /** During the TLS handshake nothing may be written in plaintext: a failure just closes. */
  private handshaking = false;
  /** Set once the StartupMessage is read: from then on only authentication messages are framed. */
  private framer: Framer | null = null;
  private waiter: { resolve: (frame: Buffer) => void; reject: (err: unknown) => void } | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onGone = () => this.finish({ kind: 'closed', reason: CloseReason.clientClosed });

  constructor(
    raw: net.Socket,
    private readonly deps: StartupPhaseDeps,
    readonly id: string,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    this.socket = raw;
    this.timer = setTimeout(() => this.fail(ProtocolError.startupTimeout(deps.options.timeoutMs), CloseReason.startupTimeout), deps.options.timeoutMs);
    this.timer.unref();
  }

  start(): this {
    this.socket.setNoDelay(true);
    this.listen(this.socket);
    return this;
  }

  get isSilent(): boolean {
    return !this.sawStartup;
  }

  /** Ends the phase with `err` (FATAL when it can still be said in the protocol the client speaks). */
  fatal(err: unknown, reason?: CloseReason): void {
    this.fail(err, reason);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onGone);
    socket.on('error', this.onGone);
  }

  private unlisten(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onGone);
    socket.off('error', this.onGone);
  }

  private receive(chunk: Buffer): void {
    if (this.finished) return;
    this.received += chunk.length;
    try {
      if (this.received > this.deps.options.maxPreAuthBytes) throw ProtocolError.malformed(`more than ${this.deps.options.maxPreAuthBytes} bytes before authentication completed (auth.max_pre_auth_bytes)`);
      if (this.framer) {
        this.framer.push(chunk);
        this.deliver();
        return;
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.process();
    } catch (err) {
      this.fail(err);
    }
  }

  private process(): void {
    for (;;) {
      if (this.finished) return;
      // A TLS ClientHello as the first byte of the connection: PostgreSQL 17's direct TLS.
      if (!this.secure && this.buf.length > 0 && this.buf[0] === TLS_HANDSHAKE_BYTE && this.received === this.buf.length) return this.startTls(true);
      const read = readStartupPacket(this.buf, this.deps.options.maxStartupMessageSize);
      if (!read) return;
      const rest = this.buf.subarray(read.length);
      this.buf = rest;
      const packet = read.packet;
      if (packet.type === 'ssl' || packet.type === 'gssenc') {
        const name = packet.type === 'ssl' ? 'SSLRequest' : 'GSSENCRequest';
        if (this.secure) throw ProtocolError.unexpected(`${name} on a connection that already uses TLS`);
        // Bytes the client sent before our answer would be read as plaintext after a handshake: never (CVE-2021-23214).
        if (rest.length > 0) throw ProtocolError.malformed(`data received after ${name} before its answer`);
        if (packet.type === 'ssl' && this.deps.options.serverTls) {
          this.socket.write(Buffer.from('S'));
          return this.startTls(false);
        }
        this.socket.write(Buffer.from('N'));
        continue;
      }
      if (packet.type === 'cancel') {
        this.sawStartup = true;
        this.deps.cancel(packet.pid, packet.secret);
        this.finish({ kind: 'closed', reason: CloseReason.cancelRequest });
        this.socket.destroy();
        return;
      }
      void this.onStartup(packet);
      return;
    }
  }

  private startTls(direct: boolean): void {
    const serverTls = this.deps.options.serverTls;
    const raw = this.socket;
    this.unlisten(raw);
    // No TLS configured and a ClientHello arrived: there is no way to answer in a language the client understands.
    if (!serverTls) return this.finish({ kind: 'closed', reason: CloseReason.tlsHandshakeFailed }, () => raw.destroy());
    const clientHello = direct ? this.buf : Buffer.alloc(0);
    this.buf = Buffer.alloc(0);
    // Errors after the TLS layer took over surface on the TLS socket; keep the raw one from throwing unhandled.
    raw.on('error', () => undefined);
    this.handshaking = true;
    upgradeToTls(raw, serverTls, { direct, clientHello, timeoutMs: this.deps.options.timeoutMs }).then(
      (secure) => {
        this.handshaking = false;
        if (this.finished) return void secure.destroy();
        this.secure = secure;
        this.socket = secure;
        this.listen(secure);
      },
      (err: unknown) => {
        this.deps.logger.debug({ conn: this.id, err: err instanceof Error ? err.message : String(err) }, 'client TLS handshake failed');
        this.finish({ kind: 'closed', reason: err instanceof TlsHandshakeError ? CloseReason.tlsHandshakeFailed : CloseReason.startupTimeout });
      },
    );
  }

  private async onStartup(packet: StartupMessage): Promise<void> {
    const { options } = this.deps;
    if (options.tlsRequired && !this.secure) return this.fail(AuthError.tlsRequired(), CloseReason.tlsRequired);
    this.sawStartup = true;
    const overLimit = this.deps.overLimit();
    if (overLimit) return this.fail(overLimit, CloseReason.tooManyConnections);
    // A newer minor version or protocol options: say what we speak (3.0) before any authentication, as PostgreSQL does.
    const unrecognized = [...packet.params.keys()].filter((k) => k.startsWith('_pq_.'));
    if (packet.minor > 0 || unrecognized.length > 0) this.socket.write(negotiateProtocolVersion(0, unrecognized));
    const user = packet.params.get('user') ?? '';
    const database = packet.params.get('database') ?? user;
    const method = options.routeOf(database);
    if (method === 'passthrough') return this.handOver(packet, null);
    if (!options.authenticator) return this.fail(new InternalError('auth-not-configured', true));
    this.framer = new Framer(options.maxPreAuthBytes);
    if (this.buf.length > 0) this.framer.push(this.buf);
    this.buf = Buffer.alloc(0);
    const conversation: AuthConversation = {
      user,
      database,
      address: this.socket.remoteAddress ?? '',
      tls: this.secure,
      send: (message) => {
        if (!this.finished) this.socket.write(message);
      },
      receive: () =>
        new Promise<Buffer>((resolve, reject) => {
          this.waiter = { resolve, reject };
          this.deliver();
        }),
    };
    try {
      const outcome = await options.authenticator.authenticate(method, conversation, this.id);
      if (this.finished) return;
      if (!outcome.ok) return this.fail(outcome.error, CloseReason.authFailed);
      if (outcome.finalMessage) this.socket.write(outcome.finalMessage);
      this.socket.write(authenticationOk());
      this.handOver(packet, outcome.login);
    } catch (err) {
      if (!this.finished) this.fail(err);
    }
  }

  /** Hands the next framed client message to a waiting authentication method. */
  private deliver(): void {
    if (!this.waiter || !this.framer) return;
    const frame = this.framer.next();
    if (!frame) return;
    const waiter = this.waiter;
    this.waiter = null;
    // A client that gives up (psql asking its user for a password) sends Terminate or just closes: not a failed attempt.
    if (frame.code === FrontendCode.Terminate) {
      this.finish({ kind: 'closed', reason: CloseReason.clientTerminate }, () => this.socket.destroy());
      waiter.reject(new Error('client terminated during authentication'));
      return;
    }
    if (frame.code !== FrontendCode.Password) return waiter.reject(ProtocolError.unexpected(`message '${String.fromCharCode(frame.code)}' before authentication completed`));
    waiter.resolve(Buffer.from(frame.bytes));
  }

  private handOver(packet: StartupMessage, login: Login | null): void {
    const rest = this.framer ? this.framer.takeRest() : this.buf;
    this.finish({ kind: 'session', socket: this.socket, packet, rest: Buffer.from(rest), login });
  }

  /** Sends `err` as FATAL (ERROR-level pgwarden errors are sent as they are) and closes. */
  private fail(err: unknown, reason?: CloseReason): void {
    if (this.finished) return;
    let error: PgwardenError;
    if (err instanceof PgwardenError) error = err;
    else {
      const ref = Math.random().toString(36).slice(2, 10);
      this.deps.logger.error({ conn: this.id, ref, err }, 'internal error during startup; closing connection');
      error = new InternalError(ref, true, err);
    }
    const socket = this.socket;
    const handshaking = this.handshaking;
    this.finish({ kind: 'closed', reason: reason ?? (error instanceof ProtocolError ? CloseReason.protocolViolation : CloseReason.internalError) }, () => {
      if (handshaking) return void socket.destroy();
      if (!socket.destroyed) socket.end(toErrorResponse(error));
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private finish(outcome: StartupOutcome, close?: () => void): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.unlisten(this.socket);
    if (this.waiter) {
      this.waiter.reject(new Error('startup phase ended'));
      this.waiter = null;
    }
    if (outcome.kind === 'closed') {
      // Whatever else happens to the socket now is not ours to report.
      this.socket.on('error', () => undefined);
      close?.();
      if (!close && !this.socket.destroyed) this.socket.destroy();
    }
    this.resolve(outcome);
  }
}
