// Random and truncated bytes in every phase before authentication — startup packets, TLS negotiation (SSLRequest,
// direct TLS, garbage handshakes), SCRAM messages and token passwords — while a normal client authenticated by SCRAM
// over TLS keeps working. Nothing random ever authenticates, and every fuzz connection goes away.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import { makeVerifier, formatVerifier } from '../../src/proxy/auth/scram.js';
import { IDENTITY_SECRETS } from '../helpers/secrets.js';
import { msg, sslRequest, startupMessage } from '../helpers/raw-client.js';
import { startFakeOidc, type FakeOidc } from '../fakes/oidc.js';
import { startIdentityApp, type IdentityApp } from '../integration/identity/harness.js';
import { pem, testPki, type Pki } from '../integration/identity/pki.js';

let pki: Pki;
let app: IdentityApp;
let idp: FakeOidc;

beforeAll(async () => {
  pki = testPki();
  idp = await startFakeOidc({ audience: 'fuzz' });
  app = await startIdentityApp({
    pki,
    config: {
      auth: { method: 'scram', databases: { template1: 'oidc' }, oidc: { issuer: idp.issuer, audience: 'fuzz' }, upstream: { user: 'postgres' }, failure_delay: '1ms', failure_delay_max: '1ms', timeout: '1500ms' },
      identities: { 'agent-7': { scram: formatVerifier(await makeVerifier(IDENTITY_SECRETS.agentScram)) } },
    },
  });
});
afterAll(async () => {
  await app?.close();
  await idp?.close();
});

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

/** A length-prefixed message with a random type among those a client may send before authentication. */
const frontendMessage = fc.tuple(fc.constantFrom(...'pXQS\0'.split('')), bytes(96), fc.integer({ min: -6, max: 6 })).map(([code, body, skew]) => {
  const out = Buffer.alloc(5 + body.length);
  out.write(code, 0, 'latin1');
  out.writeInt32BE(4 + body.length + skew, 1);
  body.copy(out, 5);
  return out;
});

/** SASLInitialResponse with a plausible or random mechanism and a mangled client-first message. */
const saslInitial = fc
  .tuple(
    fc.constantFrom('SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'PLAIN', ''),
    fc.constantFrom('n,,', 'y,,', 'p=tls-server-end-point,,', 'p=tls-unique,,', 'n,a=admin,', 'x,,', ''),
    fc.constantFrom('n=,r=', 'n=agent-7,r=', 'r=', 'm=ext,n=,r=', ''),
    fc.string({ maxLength: 40 }),
    fc.integer({ min: -3, max: 3 }),
  )
  .map(([mech, gs2, bare, nonce, skew]) => {
    const data = Buffer.from(gs2 + bare + nonce, 'utf8');
    const len = Buffer.alloc(4);
    len.writeInt32BE(data.length + skew);
    return msg('p', Buffer.concat([Buffer.from(`${mech}\0`), len, data]));
  });

const clientFinal = fc.tuple(fc.constantFrom('c=biws,r=', 'c=eSws,r=', 'r=', 'c=,p='), fc.string({ maxLength: 60 }), fc.constantFrom(',p=AAAA', ',p=', '')).map(([a, b, c]) => msg('p', Buffer.from(a + b + c)));

type Phase = 'startup' | 'ssl-garbage' | 'direct-garbage' | 'tls-startup' | 'sasl' | 'token';

function connect(): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: app.port }, () => resolve(s));
    s.on('error', () => undefined);
  });
}

async function overTls(): Promise<tls.TLSSocket | null> {
  const raw = await connect();
  raw.write(sslRequest());
  const answer = await new Promise<Buffer | null>((resolve) => {
    raw.once('data', resolve);
    raw.once('close', () => resolve(null));
  });
  if (!answer || answer[0] !== 0x53) return null;
  const secure = tls.connect({ socket: raw, servername: 'localhost', ca: pem(pki.caCert) });
  secure.on('error', () => undefined);
  return new Promise((resolve) => {
    secure.once('secureConnect', () => resolve(secure));
    secure.once('close', () => resolve(null));
  });
}

async function attack(phase: Phase, payload: Buffer[], cut: number): Promise<void> {
  let socket: net.Socket | null = null;
  let prefix: Buffer[] = [];
  if (phase === 'startup') socket = await connect();
  else if (phase === 'ssl-garbage') {
    socket = await connect();
    prefix = [sslRequest()];
  } else if (phase === 'direct-garbage') {
    socket = await connect();
    prefix = [Buffer.from([0x16, 0x03, 0x01])];
  } else {
    socket = await overTls();
    if (!socket) return;
    if (phase === 'sasl') prefix = [startupMessage({ user: 'agent-7', database: 'postgres' })];
    if (phase === 'token') prefix = [startupMessage({ user: 'agent-7', database: 'template1' })];
  }
  const all = Buffer.concat([...prefix, ...payload]);
  const s = socket;
  await new Promise<void>((resolve) => {
    s.on('close', () => resolve());
    s.resume();
    s.write(all.subarray(0, prefix.length ? Math.max(Buffer.concat(prefix).length, cut % (all.length + 1)) : cut % (all.length + 1)));
    setTimeout(() => s.destroy(), 40);
  });
}

it('survives random bytes in the startup, TLS-negotiation, SCRAM and token phases; a normal client keeps working; nothing random authenticates', async () => {
  const normal = new pg.Client({ host: 'localhost', port: app.port, user: 'agent-7', password: IDENTITY_SECRETS.agentScram, database: 'postgres', ssl: { ca: pem(pki.caCert) } });
  await normal.connect();
  let stop = false;
  let n = 0;
  const loop = (async () => {
    while (!stop) {
      const r = await normal.query('SELECT $1::int AS n', [n]);
      expect(r.rows[0].n).toBe(n);
      n++;
    }
  })();
  const phases: Phase[] = ['startup', 'ssl-garbage', 'direct-garbage', 'tls-startup', 'sasl', 'token'];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...phases),
      fc.array(fc.oneof(frontendMessage, saslInitial, clientFinal, bytes(64), fc.string({ maxLength: 200 }).map((t) => msg('p', Buffer.from(`${t}\0`)))), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      async (phase, payload, cut) => attack(phase, payload, cut),
    ),
    { numRuns: 240 },
  );
  stop = true;
  await loop;
  expect(n).toBeGreaterThan(10);
  await normal.end();
  for (let i = 0; i < 80 && app.proxyAddress && (await sessions()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await sessions()).toBe(0);
  const metrics = await (await fetch(`${app.api}/metrics`)).text();
  expect(metrics).toMatch(/pgwarden_authentications_total\{method="scram",outcome="success"\} 1\n/);
  expect(metrics).toMatch(/pgwarden_authentications_total\{method="oidc",outcome="success"\} 0\n/);
  // Bad input is a protocol or authentication failure, never an internal error.
  expect(app.logs.records().filter((r) => r.level === 'error' || r.level === 'fatal')).toEqual([]);
});

async function sessions(): Promise<number> {
  const text = await (await fetch(`${app.api}/metrics`)).text();
  return Number(/^pgwarden_client_connections_active (\d+)/m.exec(text)?.[1] ?? '-1');
}
