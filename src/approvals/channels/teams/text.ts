// Text shaping for Teams cards: UTF-8 JSON size of a value, surrogate-safe truncation, and whitespace that survives rendering.
import { cutUtf16, formatUtc } from '../channel-text.js';

export { cutUtf16, formatUtc };

/** Bytes a value takes once serialized as JSON (what counts against Teams' 28 KB message limit). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}


/** The longest prefix of `text` (surrogate-safe) whose JSON string encoding fits in `maxBytes`. */
export function cutToJsonBytes(text: string, maxBytes: number): string {
  if (jsonBytes(text) <= maxBytes) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(cutUtf16(text, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return cutUtf16(text, lo);
}

const NBSP = '\u00a0';

/**
 * One source line as displayed text: tabs become four spaces, leading spaces and runs of spaces become
 * no-break spaces (HTML renderers collapse ordinary ones), keeping one breakable space per run so long lines still wrap.
 */
export function preserveWhitespace(line: string): string {
  const expanded = line.replace(/\t/g, '    ').replace(/\r$/, '');
  const leading = /^ */.exec(expanded)![0].length;
  const rest = expanded.slice(leading).replace(/ {2,}/g, (run) => ` ${NBSP.repeat(run.length - 1)}`);
  const shown = NBSP.repeat(leading) + rest;
  return shown === '' ? NBSP : shown;
}


/**
 * `text` cut so its JSON string takes at most `maxBytes`, ending "… (N more characters, see console)" when cut.
 * Every free-text field of a card goes through this (or fitList), so no single field can push a card past its budget.
 */
export function fitText(text: string, maxBytes: number): string {
  if (jsonBytes(text) <= maxBytes) return text;
  const note = (n: number) => ` … (${n} more characters, see console)`;
  const kept = cutToJsonBytes(text, Math.max(0, maxBytes - jsonBytes(note(text.length)) + 2));
  return `${kept}${note(text.length - kept.length)}`;
}

/** Items joined with ", " within `maxBytes` of JSON, ending "… and N more, see console" when some are left out. */
export function fitList(items: readonly string[], maxBytes: number): string {
  const all = items.join(', ');
  if (jsonBytes(all) <= maxBytes) return all;
  const reserve = jsonBytes(` … and ${items.length} more, see console`);
  let shown = '';
  let count = 0;
  for (const item of items) {
    const next = count === 0 ? fitText(item, maxBytes - reserve) : `${shown}, ${item}`;
    if (jsonBytes(next) + reserve > maxBytes) break;
    shown = next;
    count++;
  }
  return `${shown} … and ${items.length - count} more, see console`;
}

/**
 * An ISO timestamp as Adaptive Card date/time functions, which each viewer's Teams client renders in their own locale
 * and time zone: "{{DATE(2026-05-01T10:32:05Z, SHORT)}} {{TIME(2026-05-01T10:32:05Z)}}". The functions accept only
 * RFC 3339 without fractional seconds; they work in TextBlock text (not in TextRun), so times go in TextBlocks.
 */
export function cardTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const t = `${d.toISOString().slice(0, 19)}Z`;
  return `{{DATE(${t}, SHORT)}} {{TIME(${t})}}`;
}
