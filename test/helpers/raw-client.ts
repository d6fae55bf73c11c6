// A raw wire-protocol client for tests: builds frontend messages without src/ and reads backend messages.
import net from 'node:net';

export function msg(code: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const out = Buffer.alloc(5 + b.length);
  out.write(code, 0, 'latin1');
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

export function startupMessage(params: Record<string, string>, version = 196608): Buffer {
  const pairs = Buffer.from(Object.entries(params).map(([k, v]) => `${k}\0${v}\0`).join('') + '\0', 'utf8');
  const out = Buffer.alloc(8 + pairs.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(version, 4);
  pairs.copy(out, 8);
  return out;
}

export function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(80877103, 4);
  return b;
}

export const query = (sql: string) => msg('Q', sql + '\0');
export const parse = (name: string, sql: string) => msg('P', Buffer.concat([Buffer.from(`${name}\0${sql}\0`), Buffer.from([0, 0])]));
export const bind = (portal: string, stmt: string) => msg('B', Buffer.concat([Buffer.from(`${portal}\0${stmt}\0`), Buffer.from([0, 0, 0, 0, 0, 0])]));
export const execute = (portal: string) => msg('E', Buffer.concat([Buffer.from(`${portal}\0`), Buffer.from([0, 0, 0, 0])]));
export const sync = () => msg('S');
export const terminate = () => msg('X');

export interface BackendMessage {
  code: string;
  body: Buffer;
}

export function errorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    out[String.fromCharCode(body[i]!)] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return out;
}

/** A socket with a message reader. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  private async waitData(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout waiting for data')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async readByte(timeoutMs = 5000): Promise<string> {
    while (this.buf.length < 1) {
      if (this.closed) throw new Error('closed');
      await this.waitData(timeoutMs);
    }
    const c = String.fromCharCode(this.buf[0]!);
    this.buf = this.buf.subarray(1);
    return c;
  }

  async read(timeoutMs = 5000): Promise<BackendMessage> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= len + 1) {
          const m = { code: String.fromCharCode(this.buf[0]!), body: Buffer.from(this.buf.subarray(5, len + 1)) };
          this.buf = this.buf.subarray(len + 1);
          return m;
        }
      }
      if (this.closed) throw new Error('connection closed');
      await this.waitData(timeoutMs);
    }
  }

  /** Reads messages until ReadyForQuery (inclusive). */
  async readUntilReady(timeoutMs = 5000): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.read(timeoutMs);
      out.push(m);
      if (m.code === 'Z') return out;
    }
  }

  /** Waits until the server closes the connection. */
  async closedByPeer(timeoutMs = 5000): Promise<void> {
    const start = Date.now();
    while (!this.closed) {
      if (Date.now() - start > timeoutMs) throw new Error('not closed');
      await this.waitData(timeoutMs).catch(() => {});
    }
  }

  /** Connects with trust auth as `user` and waits for ReadyForQuery. */
  static async ready(port: number, params: Record<string, string> = { user: 'postgres', database: 'postgres' }): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.send(startupMessage(params));
    await c.readUntilReady();
    return c;
  }

  end(): void {
    this.socket.end();
  }
}
