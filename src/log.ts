// Root pino logger: JSON to stdout, level from config, pretty only on a TTY in development, and secrets redacted everywhere (by path, by key name, inside strings, Secret objects).
import { pino, stdSerializers, type Logger, type DestinationStream } from 'pino';
import { Secret } from './units.js';

const CENSOR = '[redacted]';

/** Every field that may carry a secret, wherever it appears in a log object (fast-redact paths; the key-name walk below catches deeper ones). */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'app_password',
  '*.app_password',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'api_tokens',
  '*.api_tokens',
];

/** Keys whose values are secrets at any depth: password, passwd, secret, token, authorization, cookie, api_tokens, and *_password/_secret/_token. */
const SECRET_KEY = /^(pass(word|wd)?|secret|token|authorization|proxy-authorization|cookie|set-cookie|api_?tokens?|api_?key|private_?key|client_secret|signing_secret)$|(_|-)(password|secret|token)$/i;

/** postgres://user:pass@host → postgres://user:[redacted]@host, in any string. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]*@/gi, '$1[redacted]@');
}

/**
 * Secrets inside free text: URL credentials, `password=…` (libpq conninfo), `Bearer …` / `Basic …`
 * credentials and `PASSWORD '…'` in SQL. Cheap checks first: most log strings contain none of these.
 */
export function redactText(text: string): string {
  let out = text;
  if (out.includes('://')) out = redactUrlCredentials(out);
  if (/pass|secret|token/i.test(out)) {
    out = out
      .replace(/\b((?:password|passwd|secret|token|api_key)\s*[=:]\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'",;&]+)/gi, `$1${CENSOR}`)
      .replace(/\b(PASSWORD\s+)(E?'(?:[^']|'')*')/gi, `$1'${CENSOR}'`);
  }
  if (/bearer|basic/i.test(out)) out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${CENSOR}`);
  return out;
}

const MAX_DEPTH = 8;

/** A copy of a log object with secrets replaced. Objects without secrets come back equal; cycles and depth are bounded. */
export function redactValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Secret) return CENSOR;
  if (seen.has(value) || depth > MAX_DEPTH) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; errno?: unknown };
    const out: Record<string, unknown> = { type: e.constructor?.name ?? e.name, message: redactText(e.message) };
    if (e.stack) out.stack = redactText(e.stack);
    if (e.code !== undefined) out.code = e.code;
    if (e.cause !== undefined) out.cause = redactValue(e.cause, depth + 1, seen);
    for (const [k, v] of Object.entries(e)) if (!(k in out)) out[k] = SECRET_KEY.test(k) ? CENSOR : redactValue(v, depth + 1, seen);
    return out;
  }
  if (value instanceof Date || Buffer.isBuffer(value) || value instanceof Map || value instanceof Set) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && v !== '' ? CENSOR : redactValue(v, depth + 1, seen);
  return out;
}

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  destination?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  // Pretty output is for a person at a terminal during development; anything else (pipes, containers, production) gets JSON lines.
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.NODE_ENV !== 'production' && !options.destination);
  const base = {
    level: options.level ?? 'info',
    base: { service: 'pgwarden' },
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (obj: Record<string, unknown>) => redactValue(obj) as Record<string, unknown>,
      bindings: (bindings: Record<string, unknown>) => redactValue(bindings) as Record<string, unknown>,
    },
    // formatters.log has already turned errors into plain redacted objects; errors under `err` that bypass it still get redacted.
    serializers: { err: (e: unknown) => (e instanceof Error ? redactValue(stdSerializers.err(e)) : e) },
    hooks: {
      // Connection strings and tokens can reach a log line inside any message or format argument.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        // `log.error(err)` makes err.message the msg: pass it redacted, as pino would have set it.
        if (args[0] instanceof Error && typeof args[1] !== 'string') {
          method.apply(this, [{ err: args[0] }, redactText(args[0].message)]);
          return;
        }
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactText(a) : a instanceof Secret ? CENSOR : a)),
        );
      },
    },
  };
  const logger = options.destination
    ? pino(base, options.destination)
    : pretty
      ? pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } })
      : pino(base);
  return withRedactedChildBindings(logger);
}

/** pino serialises child bindings once, bypassing formatters.log: redact them on the way in (children inherit this `child`). */
function withRedactedChildBindings(logger: Logger): Logger {
  const child = logger.child;
  logger.child = function (this: Logger, bindings: Record<string, unknown>, opts?: Parameters<Logger['child']>[1]) {
    return child.call(this, redactValue(bindings) as Record<string, unknown>, opts);
  } as Logger['child'];
  return logger;
}

/** The logger `serve` uses: config `log.level` / `log.pretty` (PGWARDEN_LOG_LEVEL overrides the level through config). */
export function loggerFromConfig(log: { level: string; pretty?: boolean | undefined }): Logger {
  return createLogger({ level: log.level, ...(log.pretty === undefined ? {} : { pretty: log.pretty }) });
}

/** A logger that writes nothing: for `check` and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
