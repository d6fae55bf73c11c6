// Options shared by `pgwarden rules replay` and `rules suggest`: the audit window (--since/--until) and --max-rows.
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../units.js';

/** `30d`, `12h`, `1d12h` back from now, or an ISO 8601 time. */
export function parseSince(value: string, now: () => number = Date.now): Date {
  const iso = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null;
  if (iso !== null) {
    if (Number.isNaN(iso.getTime())) throw new InvalidArgumentError(`'${value}' is not a time; write ISO 8601 such as 2026-05-01T00:00:00Z, or a duration back from now such as 30d`);
    return iso;
  }
  const ms = /^\d+$/.test(value) ? null : parseDuration(value);
  if (ms === null) throw new InvalidArgumentError(`'${value}' is neither a duration (30d, 12h, 90m) nor an ISO 8601 time`);
  return new Date(now() - ms);
}

export function parseUntil(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) throw new InvalidArgumentError(`'${value}' is not an ISO 8601 time such as 2026-06-01T00:00:00Z`);
  return d;
}

export function parseCount(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    return Number(value);
  };
}

/** Thousands separators for counts in reports. */
export function n(value: number): string {
  return value.toLocaleString('en-US');
}
