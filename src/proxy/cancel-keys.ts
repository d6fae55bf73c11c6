// Per-client BackendKeyData: each client gets its own random key, mapped to the session that owns the upstream key,
// so a CancelRequest can only reach the session it was issued for.
import { randomInt } from 'node:crypto';

export interface Cancellable {
  /** Called when a CancelRequest with this session's key arrives. */
  cancel(): void;
}

export class CancelKeys {
  private readonly sessions = new Map<string, Cancellable>();

  /** Mints a unique (pid, secret) pair for a session. */
  register(session: Cancellable): { pid: number; secret: number } {
    for (;;) {
      const pid = randomInt(1, 0x7fffffff);
      const secret = randomInt(-0x80000000, 0x7fffffff);
      const key = `${pid}:${secret}`;
      if (!this.sessions.has(key)) {
        this.sessions.set(key, session);
        return { pid, secret };
      }
    }
  }

  unregister(pid: number, secret: number): void {
    this.sessions.delete(`${pid}:${secret}`);
  }

  lookup(pid: number, secret: number): Cancellable | undefined {
    return this.sessions.get(`${pid}:${secret}`);
  }
}
