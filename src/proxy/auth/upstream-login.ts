// Logs in to the upstream server with the credential pgwarden holds for an identity: answers the server's
// Authentication requests (trust, cleartext, MD5, SCRAM-SHA-256[-PLUS]) until AuthenticationOk, and returns the bytes
// that follow it (ParameterStatus, BackendKeyData, ReadyForQuery) for the relay. The client never sees this exchange.
import { createHash } from 'node:crypto';
import type net from 'node:net';
import type { Secret } from '../../units.js';
import { AuthCode, BackendCode } from '../codes.js';
import { readErrorFields } from '../backend.js';
import { Framer } from '../framer.js';
import { passwordMessage, saslInitialResponse, saslResponse } from './messages.js';
import { ScramClientExchange, type ChannelBindingPolicy } from './scram-client.js';

/** The upstream role and password mapped to an identity. The password never leaves this process except to the upstream. */
export interface UpstreamCredential {
  readonly user: string;
  /** Null when the upstream needs no password for this role (trust, or a client certificate via sslcert). */
  password(): Promise<Secret | null>;
}

/** libpq's require_auth: the methods the upstream may use (`none` = no password asked). Null = any. */
export type AllowedUpstreamAuth = ReadonlySet<'password' | 'md5' | 'scram-sha-256' | 'none'> | null;

export interface UpstreamLoginOptions {
  readonly socket: net.Socket;
  /** Bytes the server already sent after our StartupMessage. */
  readonly pending: Buffer;
  readonly credential: UpstreamCredential;
  /** tls-server-end-point data of the upstream TLS connection (null without TLS). */
  readonly endPointHash: Buffer | null;
  readonly channelBinding: ChannelBindingPolicy;
  readonly allowedAuth: AllowedUpstreamAuth;
  readonly timeoutMs: number;
}

/** Why the upstream login failed, for the log (never shown to the client: it may name the upstream role). */
export class UpstreamLoginError extends Error {
  constructor(
    message: string,
    /** SQLSTATE when the server answered with an ErrorResponse. */
    readonly sqlstate: string | null = null,
  ) {
    super(message);
    this.name = 'UpstreamLoginError';
  }
}

/** md5 PasswordMessage text: 'md5' + md5(md5(password + user) + salt), as libpq computes it. */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner, 'utf8'), salt])).digest('hex');
}

export function loginUpstream(opts: UpstreamLoginOptions): Promise<Buffer> {
  const { socket } = opts;
  const framer = new Framer(1 << 16);
  let scram: ScramClientExchange | null = null;
  let method: 'password' | 'md5' | 'scram-sha-256' | 'none' = 'none';
  let busy = false;
  let finished = false;

  const allow = (m: typeof method) => {
    if (opts.allowedAuth && !opts.allowedAuth.has(m)) throw new UpstreamLoginError(`the upstream asked for authentication method "${m}", which require_auth does not allow`);
    method = m;
  };
  const secret = async (): Promise<string> => {
    const s = await opts.credential.password();
    if (!s) throw new UpstreamLoginError(`the upstream asked for a password for role "${opts.credential.user}" but none is configured for it`);
    return s.reveal();
  };

  /** Returns true at AuthenticationOk. */
  async function handle(code: number, msg: Buffer): Promise<boolean> {
    if (code === BackendCode.ErrorResponse) {
      const f = readErrorFields(msg.subarray(5));
      throw new UpstreamLoginError(`the upstream refused the login of role "${opts.credential.user}": ${f.S ?? 'ERROR'} ${f.C ?? ''} ${f.M ?? ''}`.trim(), f.C ?? null);
    }
    if (code === BackendCode.NoticeResponse || code === BackendCode.NegotiateProtocolVersion) return false;
    if (code !== BackendCode.Authentication || msg.length < 9) throw new UpstreamLoginError(`unexpected message ${String.fromCharCode(code)} from the upstream during authentication`);
    const subtype = msg.readInt32BE(5);
    const data = msg.subarray(9);
    switch (subtype) {
      case AuthCode.Ok:
        if (method === 'none') allow('none');
        if (scram && !scram.isServerVerified) throw new UpstreamLoginError('the upstream sent AuthenticationOk before proving it knew the SCRAM verifier');
        return true;
      case AuthCode.CleartextPassword:
        allow('password');
        socket.write(passwordMessage(await secret()));
        return false;
      case AuthCode.MD5Password:
        allow('md5');
        if (data.length !== 4) throw new UpstreamLoginError('malformed AuthenticationMD5Password from the upstream');
        socket.write(passwordMessage(md5Password(opts.credential.user, await secret(), data)));
        return false;
      case AuthCode.SASL: {
        allow('scram-sha-256');
        if (scram) throw new UpstreamLoginError('the upstream started SASL twice');
        const offered = data.toString('utf8').split('\0').filter(Boolean);
        try {
          scram = new ScramClientExchange(await secret(), offered, opts.endPointHash, opts.channelBinding);
        } catch (err) {
          throw err instanceof UpstreamLoginError ? err : new UpstreamLoginError((err as Error).message);
        }
        socket.write(saslInitialResponse(scram.mechanism, scram.first()));
        return false;
      }
      case AuthCode.SASLContinue:
        if (!scram) throw new UpstreamLoginError('AuthenticationSASLContinue without SASL');
        socket.write(saslResponse(await scram.continue(data)));
        return false;
      case AuthCode.SASLFinal:
        if (!scram) throw new UpstreamLoginError('AuthenticationSASLFinal without SASL');
        scram.final(data);
        return false;
      default:
        throw new UpstreamLoginError(`the upstream asked for authentication type ${subtype}, which pgwarden does not support (use scram-sha-256, md5, password, trust or cert)`);
    }
  }

  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => fail(new UpstreamLoginError(`the upstream did not finish authentication within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const cleanup = () => {
      finished = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
    };
    const fail = (err: unknown) => {
      if (finished) return;
      cleanup();
      reject(err instanceof UpstreamLoginError ? err : new UpstreamLoginError(err instanceof Error ? err.message : String(err)));
    };
    const drain = async () => {
      if (busy || finished) return;
      busy = true;
      try {
        for (let f = framer.next(); f && !finished; f = framer.next()) {
          // Copy: the frame is a view into the framer's buffer and the handler may await.
          if (await handle(f.code, Buffer.from(f.bytes))) {
            cleanup();
            resolve(framer.takeRest());
            return;
          }
        }
      } catch (err) {
        fail(err);
      } finally {
        busy = false;
      }
      if (!finished && framer.pending >= 5) void drain();
    };
    function onData(chunk: Buffer): void {
      try {
        framer.push(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      void drain();
    }
    function onClose(): void {
      fail(new UpstreamLoginError('the upstream closed the connection during authentication'));
    }
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    if (opts.pending.length > 0) onData(opts.pending);
    // startUpstream hands the socket over paused.
    socket.resume();
  });
}
