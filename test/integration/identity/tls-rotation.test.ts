// Certificate rotation under load: the PEM files are replaced while clients run queries over TLS and new ones keep
// connecting. No connection drops, new handshakes get the new certificate (file change, and SIGHUP of a real
// `pgwarden serve`), and a half-written pair (new certificate, old key) is refused while the old one stays in force.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sslRequest } from '../../helpers/raw-client.js';
import { pgUrl } from '../../helpers/env.js';
import { recordLogLines } from '../../helpers/log-capture.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { pem, pgwardenCert, testPki, type Issued, type Pki } from './pki.js';

let pki: Pki;
let dir: string;
let app: IdentityApp;
let first: Issued;
let second: Issued;
const live = () => ({ cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });

/** The fingerprint of the certificate a fresh handshake gets. */
async function servedFingerprint(port: number): Promise<string> {
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => raw.once('connect', r));
  raw.write(sslRequest());
  await new Promise((r) => raw.once('data', r));
  const secure = tls.connect({ socket: raw, servername: 'localhost', ca: pem(pki.caCert) });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const fp = secure.getPeerCertificate().fingerprint256;
  secure.destroy();
  return fp;
}

const fingerprintOf = (file: string) => new X509Certificate(pem(file)).fingerprint256;

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function install(pair: Issued): void {
  // Written in place, key first then certificate, as an operator's cp or cert-manager would.
  copyFileSync(pair.key, live().key);
  copyFileSync(pair.cert, live().cert);
}

beforeAll(async () => {
  pki = testPki();
  first = pgwardenCert(pki);
  second = pgwardenCert(pki, 'pgwarden-rotated');
  dir = mkdtempSync(join(tmpdir(), 'pgw-rotate-'));
  install(first);
  app = await startIdentityApp({ pki, config: { 'tls.cert': live().cert, 'tls.key': live().key } });
});
afterAll(async () => {
  await app?.close();
});

describe('certificate rotation', () => {
  it('rotates on a file change and on reload while 8 clients query and others connect: nothing fails, nothing drops', async () => {
    const ssl = { ca: pem(pki.caCert), servername: 'localhost' };
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const c = new pg.Client({ host: 'localhost', port: app.port, user: 'postgres', database: 'postgres', ssl });
        await c.connect();
        return c;
      }),
    );
    let stop = false;
    const errors: unknown[] = [];
    let queries = 0;
    let reconnects = 0;
    const loops = clients.map(async (c, i) => {
      while (!stop) {
        const r = await c.query('SELECT $1::int AS i', [i]).catch((e: unknown) => (errors.push(e), null));
        if (r) queries++;
      }
    });
    const churn = (async () => {
      while (!stop) {
        const c = new pg.Client({ host: 'localhost', port: app.port, user: 'postgres', database: 'postgres', ssl });
        try {
          await c.connect();
          await c.query('SELECT 1');
          reconnects++;
        } catch (e) {
          errors.push(e);
        } finally {
          await c.end().catch(() => undefined);
        }
      }
    })();
    expect(await servedFingerprint(app.port)).toBe(fingerprintOf(first.cert));

    install(second);
    await eventually(async () => (await servedFingerprint(app.port)) === fingerprintOf(second.cert));

    // A half-written rotation: a new certificate whose key is not there yet. Refused; the pair in force stays.
    copyFileSync(pki.issue('pgwarden-third', { cn: 'pgwarden.test', san: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' }).cert, live().cert);
    app.reloadTls();
    expect(await servedFingerprint(app.port)).toBe(fingerprintOf(second.cert));

    install(first);
    app.reloadTls();
    expect(await servedFingerprint(app.port)).toBe(fingerprintOf(first.cert));
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all([...loops, churn]);
    expect(errors).toEqual([]);
    expect(queries).toBeGreaterThan(50);
    expect(reconnects).toBeGreaterThan(5);
    for (const c of clients) expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await Promise.all(clients.map((c) => c.end()));
    const metrics = await (await fetch(`${app.api}/metrics`)).text();
    expect(metrics).toMatch(/pgwarden_tls_reloads_total\{leg="client",result="ok"\} [2-9]/);
    expect(metrics).toMatch(/pgwarden_tls_reloads_total\{leg="client",result="refused"\} [1-9]/);
  });

  it('pgwarden serve reloads the certificate on SIGHUP', async () => {
    const sighupDir = mkdtempSync(join(tmpdir(), 'pgw-sighup-'));
    const files = { cert: join(sighupDir, 'tls.crt'), key: join(sighupDir, 'tls.key') };
    copyFileSync(first.key, files.key);
    copyFileSync(first.cert, files.cert);
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    writeFileSync(join(sighupDir, 'rules.yaml'), 'version: 1\nrules: [{ id: allow-all, action: allow }]\n');
    const child: ChildProcess = spawn('node_modules/.bin/node', ['dist/cli.js', 'serve', '--listen', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--upstream', pgUrl(), '--rules', join(sighupDir, 'rules.yaml'), '--tls-cert', files.cert, '--tls-key', files.key], {
      env: { ...process.env, PGWARDEN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    try {
      await eventually(async () => output.includes('pgwarden is serving'), 30_000);
      expect(await servedFingerprint(port)).toBe(fingerprintOf(first.cert));
      // Replaced, then SIGHUP (the file watcher would notice within about a second as well).
      copyFileSync(second.key, files.key);
      copyFileSync(second.cert, files.cert);
      child.kill('SIGHUP');
      await eventually(async () => (await servedFingerprint(port)) === fingerprintOf(second.cert), 3000);
      expect(output).toContain('SIGHUP: reloading rules and TLS certificates');
      expect(output).toContain('TLS certificate reloaded');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      recordLogLines(output);
    }
  });
});
