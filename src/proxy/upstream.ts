// Opens the TCP connection to the upstream PostgreSQL server. Failures become an UpstreamError naming host:port and errno.
import net from 'node:net';
import { UpstreamError } from '../errors.js';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** host:port for messages (no credentials, ever). */
  readonly display: string;
}

export function connectUpstream(target: UpstreamTarget, timeoutMs: number): Promise<net.Socket> {
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

/** Sends one packet on a fresh connection and closes it (used for CancelRequest). Errors are ignored, as libpq does. */
export function sendOneShot(target: UpstreamTarget, packet: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.once('connect', () => socket.end(packet));
    socket.once('close', done);
    socket.once('error', done);
  });
}
