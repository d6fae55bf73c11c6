// TLS for the client leg: the secure context built from PEM files (certificate chain, key, optional client CA), rebuilt
// on SIGHUP and when a file changes. Each handshake takes the context current at that moment, so a rotation never
// touches connections already open; a broken new pair (half-written, mismatched) is refused and the old one stays.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from '../../errors.js';
import { watchFiles, type FileWatch } from './file-watch.js';

export interface ServerTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle that signs client certificates; when set, clients are asked for a certificate (verified if sent). */
  readonly clientCaFile: string | null;
  readonly minVersion: tls.SecureVersion;
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly error?: string;
  /** SHA-256 fingerprint of the certificate in force after the reload. */
  readonly fingerprint: string;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`tls: ${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export class ServerTls {
  private context: tls.SecureContext;
  private certFingerprint: string;
  private watcher: FileWatch | null = null;

  constructor(readonly options: ServerTlsOptions) {
    const built = this.build();
    this.context = built.context;
    this.certFingerprint = built.fingerprint;
  }

  /** Whether clients are asked for a certificate. */
  get requestsClientCertificates(): boolean {
    return this.options.clientCaFile !== null;
  }

  /** The context new handshakes use. */
  get secureContext(): tls.SecureContext {
    return this.context;
  }

  get fingerprint(): string {
    return this.certFingerprint;
  }

  /** Re-reads the files. On any failure the context in force stays and the reason is returned. */
  reload(): ReloadResult {
    try {
      const built = this.build();
      this.context = built.context;
      this.certFingerprint = built.fingerprint;
      return { ok: true, fingerprint: this.certFingerprint };
    } catch (err) {
      return { ok: false, error: (err as Error).message, fingerprint: this.certFingerprint };
    }
  }

  /** Reloads whenever the certificate, key or client CA file changes on disk. */
  watch(onReload: (result: ReloadResult) => void, intervalMs = 1000): void {
    this.watcher?.close();
    const files = [this.options.certFile, this.options.keyFile, ...(this.options.clientCaFile ? [this.options.clientCaFile] : [])];
    this.watcher = watchFiles(files, () => onReload(this.reload()), intervalMs);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private build(): { context: tls.SecureContext; fingerprint: string } {
    const cert = readPem(this.options.certFile, 'certificate');
    const key = readPem(this.options.keyFile, 'key');
    const ca = this.options.clientCaFile ? readPem(this.options.clientCaFile, 'client CA') : undefined;
    let context: tls.SecureContext;
    try {
      // createSecureContext fails when the key does not belong to the certificate: a half-rotated pair never goes live.
      context = tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion: this.options.minVersion });
    } catch (err) {
      throw new ConfigError(`tls: the certificate ${this.options.certFile} and key ${this.options.keyFile} are not usable together: ${(err as Error).message}`);
    }
    let fingerprint = '';
    try {
      fingerprint = new X509Certificate(cert).fingerprint256;
    } catch {
      // Not fatal: the context itself accepted the chain.
    }
    return { context, fingerprint };
  }
}
