// Random, truncated and malformed frontend messages thrown at the proxy while a normal client keeps working.
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import net from 'node:net';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startupMessage } from '../helpers/raw-client.js';
import { urlFor } from '../helpers/env.js';

let proxy: TestProxy;
beforeAll(async () => {
  proxy = await startProxy({ startupTimeoutMs: 2000, maxMessageSize: 1 << 20 });
});
afterAll(async () => {
  await proxy.close();
});

const frontendMessage = fc.oneof(
  fc.tuple(fc.constantFrom(...'QPBEDCSHFXdcfp~\0'.split('')), fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -8, max: 8 })).map(([code, body, lenSkew]) => {
    const out = Buffer.alloc(5 + body.length);
    out.write(code, 0, 'latin1');
    out.writeInt32BE(4 + body.length + lenSkew, 1);
    Buffer.from(body).copy(out, 5);
    return out;
  }),
  fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
);

function sendAndClose(port: number, afterStartup: boolean, bytes: Buffer, truncateAt: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      if (afterStartup) s.write(startupMessage({ user: 'postgres', database: 'postgres' }));
      setTimeout(() => {
        s.write(bytes.subarray(0, truncateAt % (bytes.length + 1)));
        setTimeout(() => s.destroy(), 20);
      }, afterStartup ? 30 : 0);
    });
    s.on('error', () => {});
    s.on('close', () => resolve());
    s.resume();
  });
}

it('survives random and truncated frontend messages; a normal client keeps working throughout', async () => {
  const normal = new pg.Client(urlFor(proxy.port));
  await normal.connect();
  let stop = false;
  let normalQueries = 0;
  const loop = (async () => {
    while (!stop) {
      const r = await normal.query('SELECT $1::int AS n', [normalQueries]);
      expect(r.rows[0].n).toBe(normalQueries);
      normalQueries++;
    }
  })();
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(frontendMessage, { minLength: 1, maxLength: 6 }), fc.nat(), async (afterStartup, msgs, cut) => {
      await sendAndClose(proxy.port, afterStartup, Buffer.concat(msgs), cut);
    }),
    { numRuns: 150 },
  );
  stop = true;
  await loop;
  expect(normalQueries).toBeGreaterThan(10);
  await normal.end();
  for (let i = 0; i < 50 && proxy.proxy.sessionCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(proxy.proxy.sessionCount).toBe(0);
});
