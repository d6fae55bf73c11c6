// Issue 11, finding 11 (wire part): one huge Query must not stall other clients, and statement texts have their own,
// smaller limit (limits.max_statement_size) while bind values and COPY data may stay large.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bind, errorFields, execute, parse, query, RawClient, startupMessage, sync } from '../helpers/raw-client.js';
import { urlFor } from '../helpers/env.js';
import { codes, readReadies } from '../helpers/wire-attack.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/** A Query message of `size` bytes of text (`SELECT '<x…>'`). */
function hugeQuery(size: number): Buffer {
  const text = Buffer.alloc(size, 0x78);
  text.write("SELECT '", 0, 'latin1');
  text.write("'", size - 1, 'latin1');
  return query(text.toString('latin1'));
}

describe('statement size', () => {
  it('a 64 MiB Query is refused with 54000 program_limit_exceeded and the session goes on', async () => {
    const c = await RawClient.ready(app.port);
    c.send(hugeQuery(64 * 1024 * 1024));
    const msgs = await c.readUntilReady(60_000);
    expect(codes(msgs)).toBe('EZ');
    const f = errorFields(msgs[0]!.body);
    expect(f.C).toBe('54000');
    expect(f.M).toContain('max_statement_size');
    c.send(query('SELECT 1'));
    expect(codes(await c.readUntilReady())).toBe('TDCZ');
    c.end();
  });

  it('a Parse over the limit is refused in the extended protocol; the pipeline stays in step', async () => {
    const c = await RawClient.ready(app.port);
    const big = `SELECT '${'y'.repeat(2 * 1024 * 1024)}'`;
    c.send(parse('', big), bind('', ''), execute(''), sync(), parse('', 'SELECT 2'), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 2);
    expect(codes(msgs)).toBe('EZ12DCZ');
    expect(errorFields(msgs[0]!.body).C).toBe('54000');
    c.end();
  });

  it('bind values larger than the statement limit still pass (they are not statement text)', async () => {
    const client = new pg.Client(urlFor(app.port));
    await client.connect();
    const value = 'z'.repeat(8 * 1024 * 1024);
    const { rows } = await client.query('SELECT length($1::text) AS n', [value]);
    expect(rows[0].n).toBe(value.length);
    await client.end();
  });
});

describe('other clients while one sends a huge message', () => {
  it("a second client's queries complete while the first is still sending its 64 MiB", async () => {
    const first = net.connect({ host: '127.0.0.1', port: app.port });
    await new Promise((r) => first.once('connect', r));
    first.write(startupMessage({ user: 'postgres', database: 'postgres' }));
    await new Promise((r) => setTimeout(r, 200));
    const message = hugeQuery(64 * 1024 * 1024);
    let sent = 0;
    let finished = false;
    const sending = (async () => {
      for (let at = 0; at < message.length; at += 1024 * 1024) {
        const chunk = message.subarray(at, Math.min(at + 1024 * 1024, message.length));
        if (!first.write(chunk)) await new Promise((r) => first.once('drain', r));
        sent = at + chunk.length;
        await new Promise((r) => setTimeout(r, 10));
      }
      finished = true;
    })();
    const second = new pg.Client(urlFor(app.port));
    await second.connect();
    while (sent < 8 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    let answered = 0;
    for (let i = 0; i < 20; i++) {
      expect((await second.query('SELECT $1::int AS i', [i])).rows[0].i).toBe(i);
      answered++;
    }
    // All twenty answers arrived before the first client had finished writing its message.
    expect(answered).toBe(20);
    expect(finished).toBe(false);
    await sending;
    await second.end();
    first.destroy();
  });
});
