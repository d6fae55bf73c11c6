// Root pino logger: level from config, secrets redacted by path, pretty only on a TTY in development.
import { pino, type Logger, type DestinationStream } from 'pino';

/** Every field that may carry a secret, wherever it appears in a log object. */
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
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'api_tokens',
  '*.api_tokens',
];

/** postgres://user:pass@host → postgres://user:[redacted]@host, in any string. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]*@/gi, '$1[redacted]@');
}

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  destination?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.NODE_ENV !== 'production' && !options.destination);
  const base = {
    level: options.level ?? 'info',
    base: { service: 'pgwarden' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
    hooks: {
      // Connection strings can reach a log line inside any message: strip their credentials.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactUrlCredentials(a) : a)));
      },
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(base);
}

/** A logger that writes nothing: for `check` and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
