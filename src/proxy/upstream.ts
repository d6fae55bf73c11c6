// Opens the connection to the upstream PostgreSQL server: TCP, then TLS as its sslmode says (upstream-tls.ts), then the
// StartupMessage with libpq's allow/prefer fallbacks. Failures become an UpstreamError naming host:port and errno.
import net from 'node:net';
import tls from 'node:tls';
import { UpstreamError } from '../errors.js';
import type { UpstreamTarget } from './upstream-tls.js';

export type { UpstreamTarget } from './upstream-tls.js';

function connectTcp(target: UpstreamTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError(target.display, `no connection within ${timeoutMs} ms (ETIMEDOUT)`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new UpstreamError(target.display, `${err.code ?? 'error'}${err.syscall ? ` on ${err.syscall}` : ''}`, { cause: err }));
    });
  });
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The one-byte answer to SSLRequest. More bytes before the handshake would be injected plaintext (CVE-2021-23222): refused. */
function sslResponse(socket: net.Socket, target: UpstreamTarget, timeoutMs: number): Promise<'S' | 'N'> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, answer?: 'S' | 'N') => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onError);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const onData = (chunk: Buffer) => {
      if (chunk.length !== 1) return done(new UpstreamError(target.display, 'the server sent unencrypted data after its answer to SSLRequest (refused: possible injection)'));
      if (chunk[0] === 0x53) return done(null, 'S');
      if (chunk[0] === 0x4e) return done(null, 'N');
      done(new UpstreamError(target.display, `unexpected answer 0x${chunk[0]!.toString(16)} to SSLRequest`));
    };
    const onError = () => done(new UpstreamError(target.display, 'the server closed the connection during TLS negotiation'));
    const timer = setTimeout(() => done(new UpstreamError(target.display, `no answer to SSLRequest within ${timeoutMs} ms (ETIMEDOUT)`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onError);
    socket.write(SSL_REQUEST);
  });
}

function handshake(target: UpstreamTarget, socket: net.Socket, direct: boolean, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect(target.tls!.connectOptions(socket, direct));
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new UpstreamError(target.display, `TLS handshake did not finish within ${timeoutMs} ms (ETIMEDOUT)`));
    }, timeoutMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      secure.setNoDelay(true);
      resolve(secure);
    });
    secure.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      secure.destroy();
      reject(new UpstreamError(target.display, `TLS handshake failed: ${err.code ?? 'error'} (${err.message})`, { cause: err }));
    });
  });
}

/**
 * Opens a connection ready for a StartupMessage: plain TCP, or TLS as sslmode asks. `plaintextOnly` is the second try of
 * sslmode=prefer after a TLS failure (and the first of allow).
 */
export async function connectUpstream(target: UpstreamTarget, timeoutMs: number, attempt: 'tls' | 'plain' = 'tls'): Promise<net.Socket> {
  const mode = target.tls?.settings.mode ?? 'disable';
  const timeout = target.connectTimeoutMs ?? timeoutMs;
  const socket = await connectTcp(target, timeout);
  if (mode === 'disable' || attempt === 'plain' || mode === 'allow') return socket;
  const direct = target.tls!.settings.negotiation === 'direct';
  try {
    if (!direct) {
      const answer = await sslResponse(socket, target, timeout);
      if (answer === 'N') {
        if (mode === 'prefer') return socket;
        socket.destroy();
        throw new UpstreamError(target.display, `the server does not support TLS, but sslmode=${mode} requires it`);
      }
    }
    return await handshake(target, socket, direct, timeout);
  } catch (err) {
    socket.destroy();
    // libpq's prefer: when TLS fails, try again without it.
    if (mode === 'prefer') return connectUpstream(target, timeoutMs, 'plain');
    throw err;
  }
}

/** True when the upstream connection is encrypted. */
export function isTls(socket: net.Socket): socket is tls.TLSSocket {
  return socket instanceof tls.TLSSocket && socket.encrypted;
}

/** Reads the first whole message the server sends after the StartupMessage (returned with anything after it). */
function firstReply(socket: net.Socket, target: UpstreamTarget, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) done(null);
      else if (buf.length > 1 << 16) done(new UpstreamError(target.display, 'the server sent an oversized first message'));
    };
    const onClose = () => done(new UpstreamError(target.display, 'the server closed the connection after the StartupMessage'));
    const timer = setTimeout(() => done(new UpstreamError(target.display, `no answer to the StartupMessage within ${timeoutMs} ms (ETIMEDOUT)`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    socket.resume();
  });
}

/**
 * Connects and sends `startup`; returns the socket (paused) and the server's first reply. libpq's fallbacks on an
 * ErrorResponse as first reply: sslmode=prefer over TLS retries without TLS, sslmode=allow without TLS retries with it.
 */
export async function startUpstream(target: UpstreamTarget, startup: Buffer, timeoutMs: number): Promise<{ socket: net.Socket; pending: Buffer }> {
  const mode = target.tls?.settings.mode ?? 'disable';
  const attempt = async (kind: 'tls' | 'plain') => {
    const socket = await connectUpstream(target, timeoutMs, kind);
    socket.write(startup);
    try {
      return { socket, pending: await firstReply(socket, target, target.connectTimeoutMs ?? timeoutMs) };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  };
  const first = await attempt(mode === 'allow' ? 'plain' : 'tls');
  const refused = first.pending[0] === 0x45; // ErrorResponse
  if (refused && mode === 'prefer' && isTls(first.socket)) return retry(first, () => attempt('plain'));
  if (refused && mode === 'allow' && !isTls(first.socket)) return retry(first, () => attemptTls());
  return first;

  async function attemptTls() {
    const socket = await connectTcp(target, target.connectTimeoutMs ?? timeoutMs);
    try {
      if ((await sslResponse(socket, target, timeoutMs)) === 'N') throw new UpstreamError(target.display, 'the server refused the connection without TLS and does not support TLS');
      const secure = await handshake(target, socket, false, timeoutMs);
      secure.write(startup);
      return { socket: secure as net.Socket, pending: await firstReply(secure, target, timeoutMs) };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}

async function retry(first: { socket: net.Socket; pending: Buffer }, again: () => Promise<{ socket: net.Socket; pending: Buffer }>) {
  try {
    const second = await again();
    first.socket.destroy();
    return second;
  } catch {
    // The second way failed too: the first refusal is the more useful answer (libpq reports both; we relay the first).
    return first;
  }
}

/** Sends one packet on a fresh connection (TLS as configured) and closes it: CancelRequest. Errors are ignored, as libpq does. */
export function sendOneShot(target: UpstreamTarget, packet: Buffer, timeoutMs: number): Promise<void> {
  return connectUpstream(target, timeoutMs).then(
    (socket) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        socket.once('close', done);
        socket.once('error', done);
        socket.end(packet);
      }),
    () => undefined,
  );
}
