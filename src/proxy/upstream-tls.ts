// TLS toward the upstream server with libpq's semantics, configured by libpq's own URL parameters in --upstream
// (sslmode, sslrootcert, sslcert, sslkey, sslcrl, sslsni, sslnegotiation, ssl_min/max_protocol_version,
// channel_binding, require_auth). Files are read at start and again on reload (SIGHUP or a change on disk).
// @see https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { ConfigError } from '../errors.js';
import type { ChannelBindingPolicy } from './auth/scram-client.js';
import type { AllowedUpstreamAuth } from './auth/upstream-login.js';
import { watchFiles, type FileWatch } from './tls/file-watch.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface UpstreamTlsSettings {
  readonly mode: SslMode;
  /** 'postgres' = SSLRequest first; 'direct' = TLS at once with ALPN "postgresql" (PostgreSQL 17). */
  readonly negotiation: 'postgres' | 'direct';
  /** Send the host name as SNI (libpq sslsni=1, the default; never for an IP address). */
  readonly sni: boolean;
  /** CA bundle file, 'system' for the operating system's store, or null. */
  readonly rootCert: string | null;
  readonly cert: string | null;
  readonly key: string | null;
  readonly crl: string | null;
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion | null;
  readonly channelBinding: ChannelBindingPolicy;
  readonly allowedAuth: AllowedUpstreamAuth;
}

/** Where the upstream is and how to reach it. */
export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** host:port for messages (no credentials, ever). */
  readonly display: string;
  /** Absent = plain TCP (tests and embedded servers); parseUpstreamUrl always sets it. */
  readonly tls?: UpstreamTls;
  /** connect_timeout from the URL, in ms. */
  readonly connectTimeoutMs?: number;
}

const PROTOCOL_VERSIONS: Record<string, tls.SecureVersion> = { 'TLSv1': 'TLSv1', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };
const AUTH_METHODS = ['password', 'md5', 'scram-sha-256', 'none'] as const;
/** Parameters that would weaken or change TLS if pgwarden silently ignored them. */
const REFUSED = ['sslpassword', 'sslcrldir', 'sslcertmode', 'gssencmode', 'gsslib', 'krbsrvname', 'sslkeylogfile', 'requiressl'];

function fail(param: string, why: string): never {
  throw new ConfigError(`--upstream: ${param}: ${why}`);
}

function pick<T extends string>(param: string, value: string | null, allowed: readonly T[], fallback: T): T {
  if (value === null) return fallback;
  if (!(allowed as readonly string[]).includes(value)) fail(param, `'${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}

function parseRequireAuth(value: string | null): AllowedUpstreamAuth {
  if (value === null) return null;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const negated = items.every((i) => i.startsWith('!'));
  if (!negated && items.some((i) => i.startsWith('!'))) fail('require_auth', 'mix of negated and plain methods (libpq refuses it too)');
  const names = items.map((i) => i.replace(/^!/, ''));
  for (const n of names) if (!(AUTH_METHODS as readonly string[]).includes(n)) fail('require_auth', `'${n}' is not supported by pgwarden (use ${AUTH_METHODS.join(', ')})`);
  const set = new Set(negated ? AUTH_METHODS.filter((m) => !names.includes(m)) : (names as (typeof AUTH_METHODS)[number][]));
  return set;
}

/** postgres://host:port/…?sslmode=…: host, port and TLS settings. Credentials and dbname in the URL are ignored. */
export function parseUpstreamUrl(url: string): UpstreamTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('--upstream: not a valid postgres:// URL');
  }
  const host = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1';
  const port = u.port ? Number(u.port) : 5432;
  const q = u.searchParams;
  for (const p of REFUSED) if (q.has(p)) fail(p, 'not supported by pgwarden; remove it');
  const rootCert = q.get('sslrootcert');
  const explicitMode = q.get('sslmode');
  // libpq 16: sslrootcert=system defaults to verify-full and refuses weaker modes (public CAs sign anyone's names).
  const mode = pick('sslmode', explicitMode, SSL_MODES, rootCert === 'system' ? 'verify-full' : 'prefer');
  if (rootCert === 'system' && mode !== 'verify-full') fail('sslrootcert', 'sslrootcert=system needs sslmode=verify-full');
  // libpq: with a root certificate, require behaves as verify-ca.
  const effective: SslMode = mode === 'require' && rootCert ? 'verify-ca' : mode;
  if ((effective === 'verify-ca' || effective === 'verify-full') && !rootCert) fail('sslmode', `sslmode=${mode} needs sslrootcert=FILE (the CA that signed the server certificate) or sslrootcert=system`);
  const negotiation = pick('sslnegotiation', q.get('sslnegotiation'), ['postgres', 'direct'] as const, 'postgres');
  if (negotiation === 'direct' && !['require', 'verify-ca', 'verify-full'].includes(effective)) fail('sslnegotiation', 'sslnegotiation=direct needs sslmode=require or stricter');
  const cert = q.get('sslcert');
  const key = q.get('sslkey');
  if ((cert === null) !== (key === null)) fail(cert ? 'sslkey' : 'sslcert', 'sslcert and sslkey go together');
  const version = (param: string) => {
    const v = q.get(param);
    if (v === null || v === '') return null;
    const out = PROTOCOL_VERSIONS[v];
    if (!out) fail(param, `'${v}' is not one of ${Object.keys(PROTOCOL_VERSIONS).join(', ')}`);
    return out;
  };
  const timeout = q.get('connect_timeout');
  if (timeout !== null && !/^\d+$/.test(timeout)) fail('connect_timeout', 'expected whole seconds');
  const settings: UpstreamTlsSettings = {
    mode: effective,
    negotiation,
    sni: q.get('sslsni') !== '0',
    rootCert,
    cert,
    key,
    crl: q.get('sslcrl'),
    minVersion: version('ssl_min_protocol_version') ?? 'TLSv1.2',
    maxVersion: version('ssl_max_protocol_version'),
    channelBinding: pick('channel_binding', q.get('channel_binding'), ['disable', 'prefer', 'require'] as const, 'prefer'),
    allowedAuth: parseRequireAuth(q.get('require_auth')),
  };
  if (settings.channelBinding === 'require' && effective === 'disable') fail('channel_binding', 'channel_binding=require needs TLS (sslmode is disable)');
  return {
    host,
    port,
    display: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: new UpstreamTls(settings, host),
    ...(timeout !== null && timeout !== '0' ? { connectTimeoutMs: Math.max(2, Number(timeout)) * 1000 } : {}),
  };
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`--upstream: ${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** The TLS settings of the upstream leg and the secure context built from their files (rebuilt on reload). */
export class UpstreamTls {
  private current: tls.SecureContext | null = null;
  private watcher: FileWatch | null = null;

  constructor(
    readonly settings: UpstreamTlsSettings,
    private readonly host: string,
  ) {}

  get usesTls(): boolean {
    return this.settings.mode !== 'disable';
  }

  /** Builds the context from the files now. Throws ConfigError naming the file when one is unreadable or invalid. */
  load(): void {
    this.current = this.build();
  }

  /** Re-reads the files; on failure keeps the previous context and returns the reason. */
  reload(): { ok: true } | { ok: false; error: string } {
    try {
      this.current = this.build();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /** Reloads when a certificate, key, CA or CRL file changes. */
  watch(onReload: (result: ReturnType<UpstreamTls['reload']>) => void): void {
    const s = this.settings;
    const files = [s.rootCert === 'system' ? null : s.rootCert, s.cert, s.key, s.crl].filter((f): f is string => f !== null);
    if (files.length > 0) this.watcher = watchFiles(files, () => onReload(this.reload()));
  }

  close(): void {
    this.watcher?.close();
  }

  private build(): tls.SecureContext {
    const s = this.settings;
    const options: tls.SecureContextOptions = { minVersion: s.minVersion, ...(s.maxVersion ? { maxVersion: s.maxVersion } : {}) };
    if (s.rootCert === 'system') options.ca = tls.getCACertificates('system');
    else if (s.rootCert) options.ca = read(s.rootCert, 'sslrootcert');
    if (s.cert && s.key) {
      options.cert = read(s.cert, 'sslcert');
      options.key = read(s.key, 'sslkey');
    }
    if (s.crl) options.crl = read(s.crl, 'sslcrl');
    try {
      return tls.createSecureContext(options);
    } catch (err) {
      throw new ConfigError(`--upstream: the TLS files are not usable: ${(err as Error).message}`);
    }
  }

  /** Options for tls.connect over an open TCP socket, per sslmode. */
  connectOptions(socket: net.Socket, direct: boolean): tls.ConnectionOptions {
    const s = this.settings;
    if (!this.current) this.load();
    const verify = s.mode === 'verify-ca' || s.mode === 'verify-full';
    const host = this.host;
    return {
      socket,
      secureContext: this.current!,
      ...(s.sni && net.isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: verify,
      // verify-ca checks the chain only; verify-full also the name (against the URL's host, SNI or not).
      checkServerIdentity: s.mode === 'verify-full' ? (_name, cert) => tls.checkServerIdentity(host, cert) : () => undefined,
      ...(direct ? { ALPNProtocols: ['postgresql'] } : {}),
    };
  }
}
