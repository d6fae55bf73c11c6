// Text shaping for Slack: mrkdwn escaping, code blocks no statement can close early, surrogate-safe cuts, plain_text objects within their limits, and dates.
import { cutUtf16, formatUtc } from '../channel-text.js';

export { cutUtf16, formatUtc };

/** `text` with any lone UTF-16 surrogate replaced by U+FFFD: Slack refuses JSON text that is not well-formed Unicode. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Slack's mrkdwn needs only these three escaped; everything else is shown as typed inside a code block. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A statement line as code-block content: escaped, and with a zero-width space between adjacent backticks so
 * that no run of three (a fence) can end the block early and let the rest of the statement be read as mrkdwn.
 * The console shows the exact text.
 */
export function codeContent(text: string): string {
  return escapeMrkdwn(wellFormed(text)).replace(/`(?=`)/g, '`\u200b');
}


/** The longest surrogate-safe prefix of `text` whose shaped form (`shape`) is at most `max` characters long. */
export function longestPrefix(text: string, max: number, shape: (t: string) => string): string {
  if (shape(text).length <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (shape(cutUtf16(text, mid)).length <= max) lo = mid;
    else hi = mid - 1;
  }
  return cutUtf16(text, lo);
}

/** `text` cut to `max` characters with a marker saying how much is left out. */
export function cutWithNote(text: string, max: number, note = (left: number) => `… (${left} more characters, see console)`): string {
  if (text.length <= max) return text;
  // The note's length depends on the number it states: reserve room for the longest it can be.
  const reserve = note(text.length).length;
  const kept = cutUtf16(text, Math.max(0, max - reserve));
  return `${kept}${note(text.length - kept.length)}`;
}

export interface PlainText {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji: boolean;
}

export interface MrkdwnText {
  readonly type: 'mrkdwn';
  readonly text: string;
  /** true: Slack does not turn URLs, channel names or @mentions in the text into links. */
  readonly verbatim: boolean;
}

export type TextObject = PlainText | MrkdwnText;

/** A plain_text object of 1…`max` characters: shown exactly as given (no mrkdwn, no :emoji: codes). */
export function plain(text: string, max: number): PlainText {
  const shown = text.trim() === '' ? '(none)' : cutWithNote(wellFormed(text), max);
  return { type: 'plain_text', text: shown, emoji: false };
}

/** A mrkdwn object of our own text (callers escape anything that came from outside). */
export function mrkdwn(text: string): MrkdwnText {
  return { type: 'mrkdwn', text, verbatim: true };
}


/** A Slack date token: each reader sees the time in their own time zone; clients that cannot format it show the UTC text. */
export function slackDate(iso: string | null | undefined): string {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) return escapeMrkdwn(formatUtc(iso));
  return `<!date^${Math.floor(ms / 1000)}^{date_short} {time_secs}|${formatUtc(iso)}>`;
}

/** "a, b, c and 12 more (see console)": as many items as fit in `max` characters. */
export function listWithin(items: readonly string[], max: number, empty = '(none)'): string {
  if (items.length === 0) return empty;
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const rest = items.length - i - 1;
    const tail = rest > 0 ? ` and ${rest} more (see console)`.length : 0;
    const cost = (out.length > 0 ? 2 : 0) + item.length;
    if (used + cost + tail > max) {
      if (out.length === 0) {
        const more = items.length - 1;
        return `${cutUtf16(item, Math.max(0, max - 60))}…${more > 0 ? ` and ${more} more` : ''} (see console)`;
      }
      return `${out.join(', ')} and ${items.length - out.length} more (see console)`;
    }
    out.push(item);
    used += cost;
  }
  return out.join(', ');
}
