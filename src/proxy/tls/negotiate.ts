// The client leg's TLS handshake, reached two ways: SSLRequest answered 'S' (PostgreSQL's negotiation), or a TLS
// ClientHello as the very first byte (PostgreSQL 17's sslnegotiation=direct, which must carry ALPN "postgresql").
// @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL
import type net from 'node:net';
import tls from 'node:tls';
import { ProtocolError } from '../../errors.js';
import type { ServerTls } from './server-tls.js';

/** First byte of a TLS record carrying a handshake: never the first byte of a PostgreSQL startup packet (a length < 2^24). */
export const TLS_HANDSHAKE_BYTE = 0x16;
export const ALPN_POSTGRESQL = 'postgresql';

/** Why a handshake failed, for logs and the `tls_handshake_failed` close reason; the client gets a TLS alert, not a message. */
export class TlsHandshakeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsHandshakeError';
  }
}

export interface UpgradeOptions {
  /** Direct TLS: `clientHello` holds the bytes already read, which belong to the handshake. */
  readonly direct: boolean;
  readonly clientHello?: Buffer;
  readonly timeoutMs: number;
}

/**
 * Runs the server side of the handshake on `raw` (which must have no 'data' listener left). After an SSLRequest the
 * caller must have checked that nothing followed it: bytes sent before the handshake are never interpreted
 * (CVE-2021-23214). Resolves with the encrypted socket once the handshake succeeded.
 */
export function upgradeToTls(raw: net.Socket, serverTls: ServerTls, options: UpgradeOptions): Promise<tls.TLSSocket> {
  // TLSSocket feeds bytes still buffered in the raw socket to the handshake: put back what direct TLS already read
  // (paused first: a flowing stream would emit the unshifted bytes as 'data' to nobody).
  raw.pause();
  if (options.direct && options.clientHello && options.clientHello.length > 0) raw.unshift(options.clientHello);
  const secure = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: serverTls.secureContext,
    requestCert: serverTls.requestsClientCertificates,
    // Verification happens after the handshake (certificateIdentity): a client without a certificate may still use
    // password or token authentication on other routes.
    rejectUnauthorized: false,
    ALPNProtocols: [ALPN_POSTGRESQL],
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      secure.destroy();
      raw.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(ProtocolError.startupTimeout(options.timeoutMs)), options.timeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      const alpn = secure.alpnProtocol;
      // PostgreSQL 17 refuses direct TLS without ALPN "postgresql" (it could be another protocol's client), and any other ALPN.
      if (options.direct && alpn !== ALPN_POSTGRESQL) return fail(new TlsHandshakeError('direct TLS without ALPN "postgresql"'));
      if (alpn && alpn !== ALPN_POSTGRESQL) return fail(new TlsHandshakeError(`unexpected ALPN protocol ${JSON.stringify(alpn)}`));
      if (serverTls.requestsClientCertificates) markVerification(secure);
      secure.setNoDelay(true);
      resolve(secure);
    });
    secure.once('error', (err: NodeJS.ErrnoException) => fail(new TlsHandshakeError(`TLS handshake failed: ${err.code ?? err.message}`, { cause: err })));
  });
}

/**
 * Sets `authorized` / `authorizationError` as tls.Server does for its own sockets (a TLSSocket made by hand never gets
 * them): the chain of the client's certificate checked against tls.client_ca by OpenSSL during the handshake. Without a
 * certificate, or if the check cannot be read, the socket stays unauthorized (fail closed).
 */
function markVerification(secure: tls.TLSSocket): void {
  const handle = (secure as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  const peer = secure.getPeerCertificate();
  const hasCertificate = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
  if (!hasCertificate) {
    secure.authorized = false;
    secure.authorizationError = new Error('no client certificate');
    return;
  }
  if (typeof handle?.verifyError !== 'function') {
    secure.authorized = false;
    secure.authorizationError = new Error('verification result unavailable');
    return;
  }
  const error = handle.verifyError();
  secure.authorized = error === null;
  if (error) secure.authorizationError = error;
}
