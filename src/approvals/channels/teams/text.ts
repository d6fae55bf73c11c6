// Text shaping for Teams cards: UTF-8 JSON size of a value, surrogate-safe truncation, and whitespace that survives rendering.

/** Bytes a value takes once serialized as JSON (what counts against Teams' 28 KB message limit). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Cuts `text` to at most `maxUnits` UTF-16 code units, never between the two halves of a surrogate pair. */
export function cutUtf16(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  let end = Math.max(0, maxUnits);
  // A high surrogate (D800–DBFF) at the cut would leave a lone half: an invalid string that breaks JSON consumers.
  if (end > 0) {
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  }
  return text.slice(0, end);
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

/** "2026-05-01 10:32:05 UTC" from an ISO timestamp (cards are read by people in many time zones; UTC is unambiguous). */
export function formatUtc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
