// AuditEvent (what modules report) and AuditRecord (one JSON line), plus the canonical serialisation both the writer and `audit verify` use.
import type { Category } from '../sql/types.js';
import type { Action, Actor } from '../policy/verdict.js';

export type AuditEventType =
  | 'statement_allowed'
  | 'statement_read'
  | 'statement_denied'
  | 'review_requested'
  | 'vote'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'withdrawn'
  | 'grant_used'
  | 'row_budget_exceeded'
  /** A statement the policy allowed was refused because its audit record could not be written (audit.required). */
  | 'statement_refused'
  /** Repeated denials of one statement shape by one actor, counted instead of recorded one by one (audit.denied_flood). */
  | 'denials_summarized'
  /** At start, a partial last line (crash or full disk mid-write) was set aside; the chain continues from the last whole record. */
  | 'recovered_torn_tail'
  /** Records that could not be kept while the audit file failed (backlog full); says how many and when. */
  | 'records_lost'
  /** A held statement's shadow verdict (the approval service writes the statement's own record). */
  | 'statement_shadow'
  /** How many reads were not recorded (audit.reads none/sample) since the previous such record, so replay can say what it could not see. */
  | 'reads_unrecorded';

/** A verdict that was recorded, not enforced (policy Verdict.shadow, snake_case). */
export interface AuditShadow {
  readonly action: Action;
  readonly rule: string | null;
  readonly reason: string;
  /** `policy` (shadow-mode rules); `budget` is reserved for result budgets in shadow mode. */
  readonly source: 'policy' | 'budget';
}

export interface AuditEvent {
  readonly event: AuditEventType;
  readonly actor?: Actor;
  readonly database?: string;
  /** Statement text, or its normalized form when audit redaction is on (the writer decides). */
  readonly sql?: string;
  readonly normalized?: string;
  readonly categories?: readonly Category[];
  readonly rule?: string | null;
  readonly request_id?: string;
  readonly grant_id?: string;
  readonly approvers?: readonly string[];
  /** Who voted or decided. */
  readonly by?: string;
  readonly decision?: 'approve' | 'deny';
  readonly reason?: string;
  readonly via?: string;
  readonly connection_id?: string;
  /** `startup`: a startup parameter (or `options` switch) judged as the equivalent SET before the connection opened. */
  readonly source?: 'startup';
  /** When the request was created / expires / was decided (ISO 8601), for approval events. */
  readonly created_at?: string;
  readonly expires_at?: string;
  readonly decided_at?: string;
  /** Rows the statement returned or affected, where known (row budget, grants). */
  readonly rows?: number;
  /** denials_summarized: statement shape (libpg-query fingerprint); records_lost: records dropped. */
  readonly fingerprint?: string;
  readonly count?: number;
  /** denials_summarized, records_lost and reads_unrecorded: the first and last event counted (ISO 8601). */
  readonly first_at?: string;
  readonly last_at?: string;
  /** recovered_torn_tail: SHA-256 (hex) and length of the fragment, and the file it was moved to (null if it could not be saved). */
  readonly fragment_sha256?: string;
  readonly fragment_bytes?: number;
  readonly side_file?: string | null;
  // Fields added after the first release. They are not in RECORD_KEYS: like any key a verifier does not know, they
  // sort in code-point order after the fixed keys, so records that carry them verify with older `audit verify`s too.
  /** The enforced policy verdict's action for the statement (a review can end as statement_denied when approvals are unavailable). */
  readonly action?: Action;
  /** What shadow-mode rules would have decided, when it differs from the enforced verdict. */
  readonly shadow?: AuditShadow;
}

/** What a producer knows about an event that is not itself recorded. */
export interface AppendHints {
  /** Statement shape (fingerprint) of a denied statement: repeated denials of one shape by one actor may be summarised. */
  readonly shape?: string;
}

/**
 * What producers call. `append` never blocks the data path. `appendDurable` resolves once the record is written (and
 * fsynced with audit.flush every_record); when it rejects, the record is NOT in the log and never will be: the
 * caller records what really happened (the statement refused, or the same event again with append).
 */
export interface AuditLog {
  append(event: AuditEvent, hints?: AppendHints): void;
  appendDurable(event: AuditEvent): Promise<void>;
  close(): Promise<void>;
}

/** An audit log that drops everything: for `check` and unit tests that do not look at audit. */
export const nullAuditLog: AuditLog = {
  append() {},
  async appendDurable() {},
  async close() {},
};

/** One line of the audit log: the event plus the chain fields the writer adds. snake_case, as every external surface. */
export interface AuditRecord extends Omit<AuditEvent, 'actor'> {
  readonly seq: number;
  /** ISO 8601 UTC time the event was appended. */
  readonly ts: string;
  readonly instance: string;
  readonly actor?: Actor;
  /** SHA-256 (hex) of the previous record; GENESIS_HASH for the first record of a chain. */
  readonly prev: string;
  /** SHA-256 (hex) of this record's canonical serialisation without `hash`. */
  readonly hash: string;
}

/**
 * Key order of a canonical record. Keys not listed (added by later versions) follow in code-point
 * order before `prev` and `hash`, so old verifiers still check new records.
 */
const RECORD_KEYS = [
  'seq',
  'ts',
  'instance',
  'event',
  'actor',
  'database',
  'sql',
  'normalized',
  'categories',
  'rule',
  'request_id',
  'grant_id',
  'approvers',
  'by',
  'decision',
  'reason',
  'via',
  'connection_id',
  'created_at',
  'expires_at',
  'decided_at',
  'rows',
] as const;
const TAIL_KEYS = ['prev', 'hash'] as const;
const ACTOR_KEYS = ['user', 'application', 'address', 'owner'] as const;
/**
 * Keys added after the fixed order was published: like any unlisted key they sort in code-point order before
 * `prev`, so verifiers of every version agree on the canonical text.
 */
const LATER_KEYS = [
  'action',
  'count',
  'fingerprint',
  'first_at',
  'fragment_bytes',
  'fragment_sha256',
  'last_at',
  'normalized_bytes',
  'normalized_sha256',
  'shadow',
  'side_file',
  'source',
  'sql_bytes',
  'sql_sha256',
] as const;
const KNOWN = new Set<string>([...RECORD_KEYS, ...LATER_KEYS, ...TAIL_KEYS]);

function orderedKeys(obj: Record<string, unknown>, fixed: readonly string[], tail: readonly string[]): string[] {
  const fixedSet = new Set([...fixed, ...tail]);
  const rest = Object.keys(obj)
    .filter((k) => !fixedSet.has(k))
    .sort();
  return [...fixed, ...rest, ...tail].filter((k) => Object.hasOwn(obj, k) && obj[k] !== undefined);
}

/**
 * The canonical form of a value: same data → same object with keys in a fixed order, whatever order
 * they came in (a JSON parse, a jsonb column). JSON.stringify of the result is the canonical text.
 */
function canonicalValue(value: unknown, keys?: readonly string[], tail: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => canonicalValue(v));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of orderedKeys(obj, keys ?? [], tail)) out[k] = canonicalValue(obj[k], k === 'actor' && keys === RECORD_KEYS ? ACTOR_KEYS : undefined);
  return out;
}

/** A record (or record-without-hash) rearranged into canonical key order; `undefined` fields dropped. */
export function canonicalRecord<T extends object>(record: T): T {
  return canonicalValue(record, RECORD_KEYS, TAIL_KEYS) as T;
}

/** The exact text of a record's line (without the newline). The hash covers this text with `hash` left out. */
export function serializeRecord(record: object): string {
  return JSON.stringify(canonicalRecord(record));
}

/** True for keys this version knows; `audit verify` accepts unknown keys (newer writers) as long as the hash holds. */
export function isKnownRecordKey(key: string): boolean {
  return KNOWN.has(key);
}

// --- Secrets never enter an audit record -------------------------------------------------------

/** `PASSWORD 'x'` (CREATE/ALTER ROLE), `password=x` (conninfo in dblink/CREATE SERVER) and URL credentials, in SQL text. */
export function redactSqlSecrets(sql: string): string {
  return sql
    .replace(/\b(PASSWORD\s+)(E?'(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\3\$)/gi, "$1'[redacted]'")
    .replace(/\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)/gi, '$1[redacted]')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]*@/gi, '$1[redacted]@');
}

/**
 * Literal redaction for when a producer gave no `normalized` text: quoted strings, dollar-quoted
 * bodies and numbers become `$n`. libpg-query's normalize (sql/) is better and preferred; this is
 * the fail-safe so `redact_literals` never stores a literal.
 */
export function redactLiterals(sql: string): string {
  // Placeholders continue after the highest bind parameter already in the text, as libpg-query's normalize does.
  let n = Math.max(0, ...Array.from(sql.matchAll(/\$(\d+)/g), (m) => Number(m[1])));
  return sql.replace(
    /(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\2\$)|([EeBbXxUu]&?'(?:[^']|'')*')|('(?:[^']|'')*')|("(?:[^"]|"")*")|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(\$\d+)/g,
    (match, _dollar, _tag, _prefixed, _quoted, ident: string | undefined, _num, param: string | undefined) => {
      if (ident !== undefined || param !== undefined) return match;
      n += 1;
      return `$${n}`;
    },
  );
}
