// Teams SDK v2 App wiring for pgwarden: no server of its own (a capture adapter hands its /api/messages handler to ours), explicit cloud, credentials and auth, pino logging.
import { App, type IHttpServerAdapter, type HttpRouteHandler, type IHttpServerResponse } from '@microsoft/teams.apps';
import type { CloudEnvironment, TokenProvider } from '@microsoft/teams.api';
import type { ILogger, ILoggerOptions, LogLevel } from '@microsoft/teams.common';
import type { Logger } from 'pino';
import type { SdkCredentials } from './credentials.js';

export const MESSAGING_ENDPOINT = '/api/messages';

/** Collects the routes the SDK registers instead of serving them: pgwarden's own HTTP server calls the handler. */
class CaptureAdapter implements IHttpServerAdapter {
  readonly routes = new Map<string, HttpRouteHandler>();
  registerRoute(_method: 'POST', path: string, handler: HttpRouteHandler): void {
    this.routes.set(path, handler);
  }
}

/** The SDK's ILogger on top of pino. Only strings and error messages are passed on: SDK debug lines can carry whole activities and request options. */
class PinoBridge implements ILogger {
  loggerOptions?: ILoggerOptions;
  constructor(
    private readonly pino: Logger,
    private readonly name: string,
  ) {}
  #line(args: unknown[]): { msg: string; err?: string } {
    const parts: string[] = [];
    let err: string | undefined;
    for (const a of args) {
      if (typeof a === 'string') parts.push(a);
      else if (a instanceof Error) err = a.message;
    }
    return { msg: parts.join(' '), ...(err ? { err } : {}) };
  }
  debug(...msg: unknown[]): void {
    const { msg: m, ...rest } = this.#line(msg);
    this.pino.trace({ sdk: this.name, ...rest }, m);
  }
  trace(...msg: unknown[]): void {
    this.debug(...msg);
  }
  info(...msg: unknown[]): void {
    const { msg: m, ...rest } = this.#line(msg);
    this.pino.debug({ sdk: this.name, ...rest }, m);
  }
  warn(...msg: unknown[]): void {
    const { msg: m, ...rest } = this.#line(msg);
    this.pino.warn({ sdk: this.name, ...rest }, m);
  }
  error(...msg: unknown[]): void {
    const { msg: m, ...rest } = this.#line(msg);
    this.pino.error({ sdk: this.name, ...rest }, m);
  }
  log(level: LogLevel, ...msg: unknown[]): void {
    if (level === 'error') this.error(...msg);
    else if (level === 'warn') this.warn(...msg);
    else this.debug(...msg);
  }
  child(name: string): ILogger {
    return new PinoBridge(this.pino, `${this.name}/${name}`);
  }
}

export interface TeamsBotOptions {
  readonly appId: string;
  /** How outbound tokens are obtained (teamsCredentials); ignored when `token` is given. */
  readonly credentials: SdkCredentials;
  readonly tenantId: string;
  /** Verify inbound Bot Framework JWTs (false only for local development). */
  readonly auth: boolean;
  readonly cloud: CloudEnvironment;
  readonly serviceUrl: string;
  /** Outbound token source instead of the client secret (tests; custom credential flows). */
  readonly token?: TokenProvider | undefined;
  readonly logger: Logger;
}

export interface TeamsBot {
  readonly app: App;
  /** Resolves once the SDK registered its messaging route and built its token validator. */
  readonly ready: Promise<void>;
  /** The SDK's handler for POST /api/messages: JWT validation, then the activity pipeline. */
  handle(request: { body: unknown; headers: Record<string, string | string[]> }): Promise<IHttpServerResponse>;
}

export function createTeamsBot(options: TeamsBotOptions): TeamsBot {
  const adapter = new CaptureAdapter();
  // Every option is passed explicitly: left undefined, the SDK falls back to CLIENT_ID, CLIENT_SECRET,
  // TENANT_ID, SERVICE_URL, CLOUD and DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS from the environment.
  const app = new App({
    clientId: options.appId,
    // A token function takes precedence: the SDK prefers a client secret when both are set. An empty string (never
    // undefined) keeps the SDK from reading CLIENT_SECRET from the environment.
    clientSecret: options.token ? '' : (options.credentials.clientSecret?.reveal() ?? ''),
    tenantId: options.tenantId,
    ...(options.token ? { token: options.token } : {}),
    // Explicit, so MANAGED_IDENTITY_CLIENT_ID in the environment cannot switch a client-secret bot to another identity.
    managedIdentityClientId: options.credentials.managedIdentityClientId ?? options.appId,
    cloud: options.cloud,
    serviceUrl: options.serviceUrl,
    httpServerAdapter: adapter,
    messagingEndpoint: MESSAGING_ENDPOINT,
    dangerouslyAllowUnauthenticatedRequests: !options.auth,
    logger: new PinoBridge(options.logger, 'teams'),
    state: false,
  });
  const ready = app.initialize();
  return {
    app,
    ready,
    async handle(request) {
      await ready;
      const handler = adapter.routes.get(MESSAGING_ENDPOINT);
      if (!handler) throw new Error('teams: the SDK did not register its messaging endpoint');
      return handler(request);
    },
  };
}

/** Reads a JWT's payload without verifying it (only to route it; the SDK verifies). */
export function peekJwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Checks the SDK does not make itself: the token must be a Bot Framework connector token (issuer = the
 * cloud's tokenIssuer) and the activity must name its serviceUrl. The SDK routes tokens issued by Entra ID
 * to an agentic-identity validator that skips the `serviceurl` claim, and checks that claim only when the
 * activity carries a serviceUrl; both would let a token minted for one service URL steer our replies elsewhere.
 * Returns the reason for refusing, or null.
 */
export function precheckInbound(headers: Record<string, string | string[] | undefined>, body: unknown, cloud: CloudEnvironment): string | null {
  const raw = headers['authorization'];
  const auth = Array.isArray(raw) ? raw[0] : raw;
  if (!auth || !/^Bearer\s+\S+$/i.test(auth)) return 'missing or malformed Authorization: Bearer header';
  const payload = peekJwtPayload(auth.replace(/^Bearer\s+/i, ''));
  if (!payload) return 'the bearer token is not a JWT';
  if (payload.iss !== cloud.tokenIssuer) return 'the token was not issued by the Bot Framework';
  const serviceUrl = (body as { serviceUrl?: unknown } | null)?.serviceUrl;
  if (typeof serviceUrl !== 'string' || !/^https?:\/\//.test(serviceUrl)) return 'the activity has no serviceUrl';
  return null;
}
