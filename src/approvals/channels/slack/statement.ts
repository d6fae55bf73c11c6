// A statement as Slack code blocks: split at line ends into sections under the 3,000-character limit, every block closed, cut with a note when it runs past its budget.
import { SlackLimit, type Block } from './blocks.js';
import { codeContent, longestPrefix, mrkdwn } from './mrkdwn.js';

export interface CodeSections {
  readonly blocks: Block[];
  /** Characters of the original text shown. */
  readonly shownChars: number;
  readonly truncated: boolean;
}

const FENCE_OPEN = '```\n';
const FENCE_CLOSE = '\n```';
/** A line is split across sections only when at least this much of a section is still free; otherwise it starts a new one. */
const MIN_SPLIT_ROOM = 80;

/**
 * `text` as up to `maxSections` section blocks, each "```\n…\n```" of at most 3,000 characters (the first one
 * headed by `label`, a mrkdwn line of ours). Long lines continue in the next section; nothing is ever cut
 * inside an escape (&amp;) or a surrogate pair, and every code block is closed.
 */
export function codeSections(label: string, text: string, maxSections: number): CodeSections {
  const chunks: string[] = [];
  let chunk = null as string | null;
  let shownChars = 0;
  let truncated = false;
  const roomFor = (index: number) => SlackLimit.sectionText - FENCE_OPEN.length - FENCE_CLOSE.length - (index === 0 ? label.length + 1 : 0);
  const flush = (): boolean => {
    chunks.push(chunk ?? '');
    chunk = null;
    return chunks.length < maxSections;
  };

  // CRLF line ends (clients on Windows) are line ends, not characters to show.
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  outer: for (let i = 0; i < lines.length; i++) {
    let rest = lines[i]!;
    const newline = i < lines.length - 1 ? 1 : 0;
    for (;;) {
      const room = roomFor(chunks.length);
      const prefix: string = chunk === null ? '' : `${chunk}\n`;
      const shaped = codeContent(rest);
      if (prefix.length + shaped.length <= room) {
        chunk = prefix + shaped;
        shownChars += rest.length + newline;
        break;
      }
      const free = room - prefix.length;
      if (free >= MIN_SPLIT_ROOM || chunk === null) {
        // Part of this line fits here: show its beginning, continue it in the next section.
        const head = longestPrefix(rest, free, codeContent);
        chunk = prefix + codeContent(head);
        shownChars += head.length;
        rest = rest.slice(head.length);
      }
      if (!flush()) {
        truncated = true;
        break outer;
      }
    }
  }
  if (chunk !== null) chunks.push(chunk);
  if (chunks.length > maxSections) {
    chunks.length = maxSections;
    truncated = true;
  }
  const blocks = chunks.map((c, index): Block => {
    const body = `${FENCE_OPEN}${c === '' ? ' ' : c}${FENCE_CLOSE}`;
    return { type: 'section', text: mrkdwn(index === 0 ? `${label}\n${body}` : body) };
  });
  return { blocks, shownChars: Math.min(shownChars, text.length), truncated: truncated || shownChars < text.length };
}
