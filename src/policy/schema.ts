// The zod schema of rule files (version 1): match keys, actions and review options, with messages that name the fix.
import { isIP } from 'node:net';
import { z } from 'zod';
import { CATEGORIES } from '../sql/types.js';
import { AUTH_METHODS, type AuthMethod } from './verdict.js';
import { parseDuration } from '../units.js';
import { KIND_ALIASES, NODE_KINDS, resolveKind } from './kinds.js';
import { didYouMean, listWords } from './suggest.js';

export const ACTIONS = ['allow', 'deny', 'review'] as const;
export const SCOPES = ['once', 'fingerprint'] as const;
/** `enforce`: the rule decides. `shadow`: the rule is evaluated and recorded as what pgwarden would have done, never enforced. */
export const MODES = ['enforce', 'shadow'] as const;
export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A strict object whose unknown keys produce "unknown key 'x' in <where> — expected one of …". */
function strict<T extends z.core.$ZodLooseShape>(where: string, shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== 'unrecognized_keys') return undefined;
      const key = iss.keys[0] ?? '';
      return `unknown key '${key}' in ${where}${didYouMean(key, known)} — expected one of ${listWords(known)}`;
    },
  });
}

/** One value or a list of them; a single value is wrapped so rules can write `category: ddl`. */
function list<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (v === null || v === undefined || Array.isArray(v) ? v : [v]), z.array(item).min(1, 'expected at least one value'));
}

function oneOf<const T extends readonly [string, ...string[]]>(what: string, values: T) {
  return z.enum(values, {
    error: (iss) => `unknown ${what} '${String(iss.input)}'${didYouMean(iss.input, values)} — expected one of ${listWords(values)}`,
  });
}

const nonEmpty = (what: string) => z.string({ error: `expected ${what} as a string` }).min(1, `${what} must not be empty`);

const glob = nonEmpty('a glob pattern');

/** Table, column and function patterns are dotted names: every part around a '.' must be there. */
const nameGlob = glob.refine((v) => !v.split('.').includes(''), {
  error: (issue) => `'${String(issue.input)}' has an empty name part around '.': write e.g. users, public.users or public.*`,
});

/**
 * A statement fingerprint as `pgwarden check --json` prints it: libpg-query's 16 hex digits, followed by 16 more when
 * constants that are code or names (a DO body, `SET ROLE x`) are part of the shape.
 */
const fingerprint = z
  .string({ error: 'expected a statement fingerprint (hex digits) as a string; quote it in YAML' })
  .regex(/^(?:[0-9a-fA-F]{16}){1,4}$/, 'expected a statement fingerprint: the hex digits `pgwarden check --json` shows as statements[].fingerprint (quote it in YAML)')
  .transform((v) => v.toLowerCase());

const kind = nonEmpty('a statement kind').refine((v) => resolveKind(v) !== null, {
  error: (iss) =>
    `unknown statement kind '${String(iss.input)}'${didYouMean(iss.input, [...Object.keys(KIND_ALIASES), ...NODE_KINDS])} — write a libpg-query node name such as CopyStmt or an alias such as ${listWords(Object.keys(KIND_ALIASES).slice(0, 8))}, … (see docs/rules.md)`,
});

const cidr = nonEmpty('an address').refine(
  (v) => {
    const [ip, prefix, extra] = v.split('/');
    const family = isIP(ip ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (prefix === undefined) return true;
    if (!/^\d{1,3}$/.test(prefix)) return false;
    return Number(prefix) <= (family === 4 ? 32 : 128);
  },
  { error: (iss) => `'${String(iss.input)}' is not an IP address or CIDR block; write e.g. 10.0.0.0/8, 192.168.1.7 or fd00::/8` },
);

export const duration = z.unknown().transform((v, ctx) => {
  const ms = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : null;
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `'${String(v)}' is not a duration; write e.g. 30s, 5m, 1h, 1h30m` });
    return z.NEVER;
  }
  return ms;
});

const clock = z.string({ error: 'expected a time of day like "09:00"' }).regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a time of day HH:MM between 00:00 and 24:00, e.g. "09:00" (quote it in YAML)');

const timeZone = nonEmpty('a time zone').refine(
  (v) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `unknown time zone '${String(iss.input)}'; write an IANA name such as UTC, Europe/Berlin or America/New_York` },
);

/** `mon`, or a range `mon-fri` (wrapping ranges like `fri-mon` are allowed). */
const day = z.string({ error: 'expected a day such as mon or a range such as mon-fri' }).refine(
  (v) => v.toLowerCase().split('-').length <= 2 && v.toLowerCase().split('-').every((d) => (DAYS as readonly string[]).includes(d)),
  { error: (iss) => `unknown day '${String(iss.input)}'${didYouMean(iss.input, DAYS)} — expected ${listWords(DAYS)} or a range such as mon-fri` },
);

const timeWindow = strict('time', {
  days: list(day).optional(),
  from: clock.default('00:00'),
  to: clock.default('24:00'),
  zone: timeZone.default('UTC'),
});

const actorMatch = strict('match.actor', {
  user: list(glob).optional(),
  application: list(glob).optional(),
  address: list(cidr).optional(),
  identity: list(glob).optional(),
  groups: list(glob).optional(),
  auth: list(oneOf('authentication method', AUTH_METHODS)).optional(),
});

const matchShape = {
  category: list(oneOf('category', CATEGORIES)).optional(),
  kind: list(kind).optional(),
  tables: list(nameGlob).optional(),
  only_tables: list(nameGlob).optional(),
  columns: list(nameGlob).optional(),
  functions: list(nameGlob).optional(),
  database: list(glob).optional(),
  bounded: z.boolean({ error: 'bounded must be true or false' }).optional(),
  fingerprint: list(fingerprint).optional(),
  actor: actorMatch.optional(),
  time: list(timeWindow).optional(),
  get not() {
    return list(matchSchema).optional();
  },
};

export interface MatchInput {
  category?: (typeof CATEGORIES)[number][];
  kind?: string[];
  tables?: string[];
  only_tables?: string[];
  columns?: string[];
  functions?: string[];
  database?: string[];
  bounded?: boolean;
  /** Statement fingerprints (lowercase hex), compared with each statement's own fingerprint. */
  fingerprint?: string[];
  actor?: { user?: string[]; application?: string[]; address?: string[]; identity?: string[]; groups?: string[]; auth?: AuthMethod[] };

  time?: { days?: string[]; from: string; to: string; zone: string }[];
  not?: MatchInput[];
}

export const matchSchema: z.ZodType<MatchInput> = strict('match', matchShape) as unknown as z.ZodType<MatchInput>;

/** `scope: once`, `scope: fingerprint`, or `scope: { allow: [once, fingerprint], ttl: 30m }`. */
const scope = z.preprocess(
  (v) => (typeof v === 'string' ? { allow: [v] } : v),
  strict('scope', {
    allow: list(oneOf('approval scope', SCOPES)),
    ttl: duration.optional(),
  }),
);

const reviewOptions = {
  approvers: list(nonEmpty('an approver group or identity')).optional(),
  quorum: z.number({ error: 'quorum must be a whole number ≥ 1' }).int('quorum must be a whole number ≥ 1').min(1, 'quorum must be a whole number ≥ 1').optional(),
  timeout: duration.optional(),
  scope: scope.optional(),
};
const REVIEW_KEYS = Object.keys(reviewOptions) as (keyof typeof reviewOptions)[];

export const ruleSchema = strict('rule', {
  id: z.string({ error: 'every rule needs an id, e.g. id: ddl-review' }).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'rule ids use letters, digits and _ . : - (they appear in errors, metrics and audit records)'),
  description: z.string().optional(),
  match: matchSchema.optional(),
  action: oneOf('action', ACTIONS),
  mode: oneOf('mode', MODES).optional(),
  message: z.string().min(1).optional(),
  reason: z.string().min(1).optional(),
  ...reviewOptions,
}).superRefine((rule, ctx) => {
  if (rule.message !== undefined && rule.reason !== undefined) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'write either message or reason (they are the same text), not both' });
  if (rule.action !== 'review') {
    for (const key of REVIEW_KEYS) {
      if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} only applies to action: review (this rule's action is ${rule.action})` });
    }
  }
});

export const defaultsSchema = strict('defaults', {
  action: oneOf('action', ACTIONS).default('allow'),
  on_unknown: oneOf('action', ACTIONS).default('review'),
  mode: oneOf('mode', MODES).default('enforce'),
  message: z.string().min(1).optional(),
  review: strict('defaults.review', reviewOptions).optional(),
});

export const ruleFileSchema = strict('the rule file', {
  version: z.literal(1, { error: 'version must be 1 (the only rule format so far)' }).optional(),
  description: z.string().optional(),
  defaults: defaultsSchema.optional(),
  groups: z
    .record(nonEmpty('a group name'), list(nonEmpty('an approver identity')), { error: 'groups maps a group name to a list of approver identities' })
    .optional(),
  rules: z.array(ruleSchema, { error: 'rules must be a list of rules (each starting with "- id: …")' }).optional(),
});

export type RuleInput = z.output<typeof ruleSchema>;
export type DefaultsInput = z.output<typeof defaultsSchema>;
export type RuleFileInput = z.output<typeof ruleFileSchema>;
export type ReviewOptionsInput = { approvers?: string[]; quorum?: number; timeout?: number; scope?: { allow: ('once' | 'fingerprint')[]; ttl?: number } };
