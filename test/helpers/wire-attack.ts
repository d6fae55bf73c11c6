// Shared pieces of the wire attack tests (test/security/wire-*): pgwarden with the shipped default rules, unique
// marker files for COPY … TO PROGRAM, and raw messages built from bytes (for client encodings other than UTF-8).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { msg, RawClient, startupMessage, type BackendMessage } from './raw-client.js';
import { pgTarget } from './env.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * rules/default.yaml as shipped, with two test changes: the dba group is a test approver, and reviews expire after 1s
 * (a statement that waits for review ends with 57014 instead of holding the test for five minutes).
 */
export function defaultRulesForTests(): string {
  return readFileSync(resolve(root, 'rules/default.yaml'), 'utf8')
    .replace('dba: [dba@example.com]', 'dba: [alice@example.com]')
    .replace('security: [security@example.com]', 'security: [alice@example.com]')
    .replace(/timeout: 5m/, 'timeout: 1s');
}

/** A path the test server's COPY … TO PROGRAM would create, and a check that it was not. */
export function markerFile(tag: string): { path: string; exists(): boolean; remove(): void } {
  const path = `/tmp/pgw-wire-${tag}-${randomBytes(4).toString('hex')}`;
  return { path, exists: () => existsSync(path), remove: () => rmSync(path, { force: true }) };
}

/** Query (F) from raw bytes (any client encoding). */
export function queryBytes(text: Buffer): Buffer {
  return msg('Q', Buffer.concat([text, Buffer.from([0])]));
}

/** Parse (F) from raw bytes. */
export function parseBytes(name: string, text: Buffer): Buffer {
  return msg('P', Buffer.concat([Buffer.from(name + '\0'), text, Buffer.from([0, 0, 0])]));
}

/** Bytes of `parts`: strings are ASCII/UTF-8, arrays are raw bytes. */
export function bytes(...parts: (string | number[])[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
}

/** A raw connection straight to the test PostgreSQL (the control: what the server does with the same bytes). */
export async function directClient(params: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.connect(pgTarget().port);
  c.send(startupMessage({ user: 'postgres', database: 'postgres', ...params }));
  await c.readUntilReady();
  return c;
}

/** Reads messages until `n` ReadyForQuery have arrived (or the connection closes). */
export async function readReadies(c: RawClient, n: number, timeoutMs = 10_000): Promise<BackendMessage[]> {
  const out: BackendMessage[] = [];
  for (let seen = 0; seen < n; ) {
    const m = await c.read(timeoutMs);
    out.push(m);
    if (m.code === 'Z') seen++;
  }
  return out;
}

export const codes = (msgs: readonly BackendMessage[]): string => msgs.map((m) => m.code).join('');
