// Time windows in an IANA time zone ("mon-fri 09:00-18:00 Europe/Berlin"), compiled once at load.
import { DAYS } from './schema.js';

export interface TimeWindow {
  /** Bit i set = day i (0 = Sunday) is in the window; 0x7f when days is absent. */
  readonly dayMask: number;
  /** Minutes after midnight; `to` may be below `from` (the window wraps midnight and belongs to the start day). */
  readonly from: number;
  readonly to: number;
  readonly zone: string;
  readonly format: Intl.DateTimeFormat;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(zone, f);
  }
  return f;
}

function minutes(clock: string): number {
  return Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
}

function dayIndex(name: string): number {
  return (DAYS as readonly string[]).indexOf(name.toLowerCase());
}

export function compileTimeWindow(input: { days?: string[]; from: string; to: string; zone: string }): TimeWindow {
  let dayMask = input.days ? 0 : 0x7f;
  for (const spec of input.days ?? []) {
    const [a = '', b] = spec.split('-');
    const start = dayIndex(a);
    const end = b === undefined ? start : dayIndex(b);
    for (let d = start; ; d = (d + 1) % 7) {
      dayMask |= 1 << d;
      if (d === end) break;
    }
  }
  return { dayMask, from: minutes(input.from), to: minutes(input.to), zone: input.zone, format: formatFor(input.zone) };
}

const SHORT_DAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** True when `now` (in the window's zone) falls inside it. */
export function inWindow(w: TimeWindow, now: Date): boolean {
  let day = 0;
  let minute = 0;
  for (const part of w.format.formatToParts(now)) {
    if (part.type === 'weekday') day = SHORT_DAYS[part.value] ?? 0;
    else if (part.type === 'hour') minute += Number(part.value) * 60;
    else if (part.type === 'minute') minute += Number(part.value);
  }
  if (w.from <= w.to) return (w.dayMask & (1 << day)) !== 0 && minute >= w.from && minute < w.to;
  // Wrapping window (22:00-06:00): the late part belongs to the start day, the early part to the day before.
  if (minute >= w.from) return (w.dayMask & (1 << day)) !== 0;
  if (minute < w.to) return (w.dayMask & (1 << ((day + 6) % 7))) !== 0;
  return false;
}
