// Text helpers every approval channel shares: cutting without breaking a character, and one UTC time format.

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

/** "2026-05-01 10:32:05 UTC" from an ISO timestamp (approvers read in many time zones; UTC is unambiguous). */
export function formatUtc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
