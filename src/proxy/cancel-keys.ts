// Per-client BackendKeyData: each client gets its own random key, mapped to the session that owns the upstream key,
// so a CancelRequest can only reach the session it was issued for.
//
// Routable keys: behind a TCP load balancer a CancelRequest lands on any instance. Each instance has a 16-bit node id
// (claimed in the shared store by the app) placed in bits 15–30 of every pid it mints; the low 15 bits of the pid and
// all 32 bits of the secret are independent CSPRNG draws, so the secret cannot be learnt from the pid and a key is as
// hard to guess as PostgreSQL's own (32 random bits of secret), plus 15 bits of pid.
import { randomInt } from 'node:crypto';

export interface Cancellable {
  /** Called when a CancelRequest with this session's key arrives. */
  cancel(): void;
}

/** How the app lets the proxy reach other instances: the proxy knows nothing of Redis. */
export interface CancelRoute {
  /** This instance's node id, 1–65535, carried in bits 15–30 of its pids. */
  readonly nodeId: number;
  /** Passes a key this instance does not hold to the instance whose node id its pid carries. */
  forward(pid: number, secret: number): void;
}

/** The node id a pid carries (0 for pids minted without one). */
export function nodeOfPid(pid: number): number {
  return (pid >>> 15) & 0xffff;
}

export class CancelKeys {
  private readonly sessions = new Map<string, Cancellable>();

  /** `nodeId` 1–65535 makes keys routable; 0 (a single instance) keeps 31 random bits of pid. */
  constructor(private readonly nodeId = 0) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0xffff) throw new RangeError(`cancel key node id must be 0–65535, got ${nodeId}`);
  }

  /** Mints a unique (pid, secret) pair for a session. */
  register(session: Cancellable): { pid: number; secret: number } {
    for (;;) {
      // pid stays positive (bit 31 clear) and never 0, as clients expect of a backend pid.
      const pid = this.nodeId === 0 ? randomInt(1, 0x7fffffff) : (this.nodeId << 15) | randomInt(1, 0x8000);
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
