// Test gates: decide by regular expression on the statement text, without the policy engine.
import { PolicyDenied } from '../../src/errors.js';
import { ALLOW, type Gate, type GateHold, type GateOutcome, type StatementContext } from '../../src/proxy/gate.js';

/** Denies statements whose text matches `pattern`; records every context it sees. */
export function denyGate(pattern: RegExp, seen: StatementContext[] = []): Gate {
  return {
    decide(ctx) {
      seen.push(ctx);
      return pattern.test(ctx.text) ? { kind: 'deny', error: new PolicyDenied('test-rule', 'matched the test pattern') } : ALLOW;
    },
  };
}

export interface ControlledHold {
  readonly ctx: StatementContext;
  allow(): void;
  deny(message?: string): void;
  withdrawn: string | null;
}

/** Holds statements matching `pattern` until the test allows or denies them. */
export function holdGate(pattern: RegExp): { gate: Gate; holds: ControlledHold[]; next(): Promise<ControlledHold> } {
  const holds: ControlledHold[] = [];
  let consumed = 0;
  const waiters: ((h: ControlledHold) => void)[] = [];
  const gate: Gate = {
    decide(ctx): GateOutcome {
      if (!pattern.test(ctx.text)) return ALLOW;
      let settle!: (o: { kind: 'allow' } | { kind: 'deny'; error: PolicyDenied }) => void;
      const result = new Promise<{ kind: 'allow' } | { kind: 'deny'; error: PolicyDenied }>((r) => (settle = r));
      const control: ControlledHold = {
        ctx,
        withdrawn: null,
        allow: () => settle({ kind: 'allow' }),
        deny: (m = 'denied by test') => settle({ kind: 'deny', error: new PolicyDenied('test-hold', m) }),
      };
      const hold: GateHold = {
        kind: 'hold',
        requestId: `req${holds.length + 1}`,
        notice: `pgwarden: waiting for approval of request req${holds.length + 1}`,
        onNotice: () => {},
        result,
        withdraw: (reason) => {
          control.withdrawn = reason;
          settle({ kind: 'deny', error: new PolicyDenied('test-hold', `withdrawn: ${reason}`) });
        },
      };
      holds.push(control);
      waiters.shift()?.(control);
      return hold;
    },
  };
  return {
    gate,
    holds,
    /** The next hold not yet returned by next(), waiting for it if needed. */
    next: () => {
      const pending = holds[consumed];
      if (pending) {
        consumed++;
        return Promise.resolve(pending);
      }
      return new Promise((resolve) =>
        waiters.push((h) => {
          consumed++;
          resolve(h);
        }),
      );
    },
  };
}
