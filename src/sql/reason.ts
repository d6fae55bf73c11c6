// The agent's stated reason, read from a `/* reason: … */` or `-- reason: …` comment in the SQL text.

/** Longest stated reason kept; longer ones are cut (approvers read it on a card). */
export const MAX_REASON_LENGTH = 500;

const BLOCK = /\/\*\s*reason\s*:([\s\S]*?)\*\//i;
const LINE = /--[ \t]*reason\s*:([^\r\n]*)/i;

/** The reason from the first `reason:` comment (block or line, whichever comes first), trimmed; null when absent or empty. */
export function statedReason(text: string): string | null {
  if (text.length === 0 || !/reason/i.test(text)) return null;
  const block = BLOCK.exec(text);
  const line = LINE.exec(text);
  let m = block;
  if (line !== null && (block === null || line.index < block.index)) m = line;
  if (m === null) return null;
  const reason = (m[1] ?? '').replace(/\s+/g, ' ').trim();
  if (reason === '') return null;
  return reason.length > MAX_REASON_LENGTH ? reason.slice(0, MAX_REASON_LENGTH) : reason;
}
