// The demo's live activity feed: follows the audit log file pgwarden writes and prints one short line per decision,
// so the terminal running the demo shows what the firewall did with each statement as it happens.
import { open, type FileHandle } from 'node:fs/promises';
import { styleText } from 'node:util';

interface FeedRecord {
  event?: string;
  actor?: { user?: string; application?: string };
  sql?: string;
  rule?: string | null;
  request_id?: string;
  by?: string;
  approvers?: string[];
  reason?: string;
}

const POLL_MS = 200;
const SQL_WIDTH = 70;

function oneLine(sql: string | undefined): string {
  const text = (sql ?? '').replace(/\s+/g, ' ').trim();
  return text.length > SQL_WIDTH ? `${text.slice(0, SQL_WIDTH - 1)}…` : text;
}

/** One feed line for an audit record, or null for records the feed does not show. */
export function formatActivity(r: FeedRecord, now: Date = new Date()): string | null {
  const time = styleText('dim', now.toTimeString().slice(0, 8));
  const who = r.actor?.user ? styleText('dim', `${r.actor.user}${r.actor.application ? `/${r.actor.application}` : ''}`) : '';
  const sql = oneLine(r.sql);
  const rule = r.rule ? styleText('dim', `rule ${r.rule}`) : '';
  const id = r.request_id ?? '';
  const line = (...parts: string[]) => parts.filter(Boolean).join(' ');
  switch (r.event) {
    case 'statement_read':
    case 'statement_allowed':
      return line(time, styleText('green', 'allowed '), who, sql);
    case 'grant_used':
      return line(time, styleText('green', 'allowed '), who, sql, styleText('dim', '(covered by an earlier approval)'));
    // One word for a refusal, as in the API, the console and Teams: "denied", by a rule or by a person.
    case 'statement_denied':
      return line(time, styleText('red', 'denied  '), who, sql, rule ? styleText('dim', `by ${rule}`) : '');
    case 'review_requested':
      return line(time, styleText('yellow', 'held    '), who, sql, rule, styleText('bold', id), `→ waiting for ${(r.approvers ?? []).join(', ') || 'an approver'}`);
    case 'approved':
      return line(time, styleText('green', 'approved'), id, `by ${(r.approvers ?? []).join(', ')}: the statement runs`);
    case 'denied':
      return line(time, styleText('red', 'denied  '), id, `by ${r.by ?? '?'}${r.reason ? ` (${r.reason})` : ''}: the agent gets 42501`);
    case 'expired':
      return line(time, styleText('red', 'expired '), id, 'nobody decided in time');
    case 'withdrawn':
      return line(time, styleText('dim', 'withdrawn'), id, 'the client stopped waiting');
    default:
      return null;
  }
}

export interface ActivityFeed {
  stop(): Promise<void>;
}

/** Polls `file` (the audit log) for new JSON lines and writes a feed line for each to `out`. */
export function followActivity(file: string, out: NodeJS.WritableStream): ActivityFeed {
  let handle: FileHandle | null = null;
  let offset = 0;
  let partial = '';
  let busy: Promise<void> = Promise.resolve();
  let stopped = false;

  const poll = async () => {
    try {
      handle ??= await open(file, 'r');
    } catch {
      return; // not written yet
    }
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      partial += buf.subarray(0, bytesRead).toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          const text = formatActivity(JSON.parse(line) as FeedRecord);
          if (text) out.write(`${text}\n`);
        } catch {
          // A line that is not JSON is not ours to show.
        }
      }
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(poll, poll).catch(() => undefined);
  }, POLL_MS);
  timer.unref();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await busy.catch(() => undefined);
      await handle?.close();
    },
  };
}
