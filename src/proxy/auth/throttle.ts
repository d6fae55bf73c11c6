// Abuse limits around authentication: answers slow down after failures (per client address and per claimed name, so
// neither many names from one address nor one name from many addresses can guess fast), and open connections are
// counted per identity. Both tables are bounded: a flood of new addresses evicts the oldest entries, never grows memory.

export interface ThrottleOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A failure older than this no longer counts. */
  readonly windowMs: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Failures {
  count: number;
  last: number;
}

/** IPv4 as is (IPv4-mapped IPv6 unwrapped); IPv6 by its /64, the block one subscriber usually holds. */
export function addressKey(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class AuthThrottle {
  private readonly failures = new Map<string, Failures>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /**
   * How long to wait before answering this attempt: nothing while neither the address nor the name failed recently,
   * then base × 2^(failures−1) up to the max. A failed attempt always waits at least the base, so a failure is never
   * answered faster than a success would be after failures.
   */
  delay(address: string, name: string, failed: boolean): number {
    const n = Math.max(this.count(`a:${addressKey(address)}`), this.count(`n:${name.toLowerCase()}`));
    const backoff = n === 0 ? 0 : Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(n - 1, 30));
    return failed ? Math.max(backoff, Math.min(this.options.baseDelayMs, this.options.maxDelayMs)) : backoff;
  }

  recordFailure(address: string, name: string): void {
    this.bump(`a:${addressKey(address)}`);
    this.bump(`n:${name.toLowerCase()}`);
  }

  /** A success clears the name's failures (its owner got in); the address keeps its record until the window passes. */
  recordSuccess(name: string): void {
    this.failures.delete(`n:${name.toLowerCase()}`);
  }

  /** Entries held (for tests of the bound). */
  get size(): number {
    return this.failures.size;
  }

  private count(key: string): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    if (this.now() - f.last > this.options.windowMs) {
      this.failures.delete(key);
      return 0;
    }
    return f.count;
  }

  private bump(key: string): void {
    const count = this.count(key) + 1;
    // Re-inserting moves the key to the end: the first key is always the least recently failed.
    this.failures.delete(key);
    this.failures.set(key, { count, last: this.now() });
    while (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
  }
}

/** Open connections per authenticated identity (case-insensitive). */
export class IdentityConnections {
  private readonly open = new Map<string, number>();

  /** Counts one more connection of `identity` unless that would pass `max` (0 = no limit). */
  acquire(identity: string, max: number): boolean {
    const key = identity.trim().toLowerCase();
    const n = this.open.get(key) ?? 0;
    if (max > 0 && n >= max) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(identity: string): void {
    const key = identity.trim().toLowerCase();
    const n = (this.open.get(key) ?? 0) - 1;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
  }

  count(identity: string): number {
    return this.open.get(identity.trim().toLowerCase()) ?? 0;
  }
}
