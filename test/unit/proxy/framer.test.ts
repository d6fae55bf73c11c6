// Framer and BackendRelay under every way of splitting a byte stream into chunks.
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Framer } from '../../../src/proxy/framer.js';
import { BackendRelay } from '../../../src/proxy/relay.js';
import { ProtocolError } from '../../../src/errors.js';

const message = fc
  .tuple(fc.constantFrom(...'QPBESDHCdXZTN1A'.split('')), fc.uint8Array({ maxLength: 300 }))
  .map(([code, body]) => {
    const out = Buffer.alloc(5 + body.length);
    out.write(code, 0, 'latin1');
    out.writeInt32BE(4 + body.length, 1);
    Buffer.from(body).copy(out, 5);
    return out;
  });

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('Framer', () => {
  it('returns the same messages however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs);
        const framer = new Framer(1 << 20);
        const got: Buffer[] = [];
        for (const chunk of splitAt(stream, cuts)) {
          framer.push(chunk);
          for (let f = framer.next(); f; f = framer.next()) got.push(Buffer.from(f.bytes));
        }
        expect(got).toEqual(msgs);
        expect(framer.pending).toBe(0);
      }),
    );
  });

  it('refuses a declared length over the limit at the header, before the body arrives', () => {
    const framer = new Framer(1000);
    const header = Buffer.from([0x51, 0, 0, 0x10, 0]);
    framer.push(header);
    expect(() => framer.next()).toThrow(ProtocolError);
    expect(() => framer.next()).toThrow(/exceeds the limit of 1000 bytes/);
  });

  it('joins a message that spans many reads once, when its last byte arrives (buffering is linear in its size)', () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
    const message = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 0]), body]);
    message.writeInt32BE(4 + body.length, 1);
    const framer = new Framer(1 << 30);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      let frames = 0;
      for (let at = 0; at < message.length; at += 65536) {
        framer.push(message.subarray(at, at + 65536));
        for (let f = framer.next(); f; f = framer.next()) frames++;
      }
      expect(frames).toBe(1);
      expect(concat.mock.calls.length).toBeLessThanOrEqual(1);
      expect(framer.pending).toBe(0);
    } finally {
      concat.mockRestore();
    }
  });

  it('refuses a length below 4', () => {
    const framer = new Framer(1000);
    framer.push(Buffer.from([0x51, 0, 0, 0, 3]));
    expect(() => framer.next()).toThrow(/declares length 3/);
  });
});

describe('BackendRelay', () => {
  it('forwards the stream byte for byte, shows every header once and hands inspected messages over whole, however it is split', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs);
        const out: Buffer[] = [];
        const inspected: Buffer[] = [];
        const headers: number[] = [];
        const relay = new BackendRelay(
          { header: (code: number, length: number) => (headers.push(length), code === 0x5a || code === 0x4e), inspect: (_c, m) => (inspected.push(Buffer.from(m)), 'pass') },
          (pieces) => out.push(...pieces.map((p) => Buffer.from(p))),
        );
        for (const chunk of splitAt(stream, cuts)) relay.push(chunk);
        expect(Buffer.concat(out)).toEqual(stream);
        expect(inspected).toEqual(msgs.filter((m) => m[0] === 0x5a || m[0] === 0x4e));
        // Every message's header is shown exactly once, with its length (reply correlation counts on it).
        expect(headers).toEqual(msgs.map((m) => m.length));
        expect(relay.atBoundary).toBe(true);
      }),
    );
  });

  it('a message it needs whole that spans many reads is joined once', () => {
    const body = Buffer.alloc(1024 * 1024, 0x62);
    const message = Buffer.concat([Buffer.from([0x45, 0, 0, 0, 0]), body]);
    message.writeInt32BE(4 + body.length, 1);
    const inspected: number[] = [];
    const relay = new BackendRelay({ header: (c: number) => c === 0x45, inspect: (_c, m) => (inspected.push(m.length), 'pass') }, () => {});
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      for (let at = 0; at < message.length; at += 16384) relay.push(message.subarray(at, at + 16384));
      expect(inspected).toEqual([message.length]);
      expect(concat.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      concat.mockRestore();
    }
  });

  it('replaces or drops inspected messages and injects only at message boundaries', () => {
    const z = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
    const d = Buffer.from([0x44, 0, 0, 0, 8, 1, 2, 3, 4]);
    const out: Buffer[] = [];
    const relay = new BackendRelay({ header: (c: number) => c === 0x5a, inspect: () => Buffer.from('REPL') }, (p) => out.push(...p.map((x) => Buffer.from(x))));
    relay.push(d.subarray(0, 6));
    relay.inject(Buffer.from('NOTE'));
    relay.push(Buffer.concat([d.subarray(6), z]));
    expect(Buffer.concat(out).toString('latin1')).toBe(Buffer.concat([d, Buffer.from('REPL'), Buffer.from('NOTE')]).toString('latin1'));
  });
});
