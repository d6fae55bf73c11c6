// Silent sockets (issue 12, item 10): 50 connections that never send a StartupMessage, against a client limit of 50,
// once locked real clients out until their startup timeout. Connections still in their handshake now count against
// their own, smaller limit once they have taken over a second, and when it is full the one that has waited longest
// without a StartupMessage makes room.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { urlFor } from '../helpers/env.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

const opened: net.Socket[] = [];
let proxy: TestProxy | null = null;

afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  await proxy?.close();
  proxy = null;
});

/** A socket that connects and then says nothing; resolves once connected. Records whether the server closed it. */
function silent(port: number): Promise<{ socket: net.Socket; closed: () => boolean; received: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    opened.push(socket);
    let closed = false;
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed: () => closed, received: () => Buffer.concat(chunks) }));
    socket.once('error', reject);
  });
}

async function query(port: number): Promise<number> {
  const c = new pg.Client(urlFor(port));
  await c.connect();
  try {
    return (await c.query('SELECT 41 + 1 AS n')).rows[0].n as number;
  } finally {
    await c.end();
  }
}

describe('pre-authentication connections', () => {
  it('50 silent sockets against a client limit of 50 do not lock a real client out', async () => {
    proxy = await startProxy({ maxClientConnections: 50, maxPreauthConnections: 10, startupTimeoutMs: 60_000 });
    const sockets = [];
    for (let i = 0; i < 50; i++) sockets.push(await silent(proxy.port));
    // Fresh handshakes never count (a burst of pool connections is not refused); these are stuck after a second.
    await new Promise((r) => setTimeout(r, 1100));
    // Real clients get in at once (no waiting for the 60 s startup timeout), each making room by closing the silent
    // socket that has waited longest, with a FATAL that says why.
    for (let i = 0; i < 3; i++) expect(await query(proxy.port)).toBe(42);
    await new Promise((r) => setTimeout(r, 200));
    const told = sockets.filter((s) => s.closed());
    expect(told.length).toBe(3);
    expect(told).toEqual(sockets.slice(0, 3));
    expect(told[0]!.received().toString('latin1')).toContain('every pre-authentication slot was taken');
    expect(proxy.proxy.sessionCount).toBe(47);
  });

  it('authenticated sessions still count against max_client_connections, and silent ones do not', async () => {
    proxy = await startProxy({ maxClientConnections: 2, maxPreauthConnections: 5, startupTimeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) await silent(proxy.port);
    await new Promise((r) => setTimeout(r, 1100));
    const a = new pg.Client(urlFor(proxy.port));
    const b = new pg.Client(urlFor(proxy.port));
    await a.connect();
    await b.connect();
    const c = new pg.Client(urlFor(proxy.port));
    const err = (await c.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('53300');
    expect(err.message).toContain('too many client connections (limit 2)');
    await a.end();
    await b.end();
  });
});
