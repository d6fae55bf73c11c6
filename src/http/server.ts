// pgwarden's one HTTP server: a node:http server with a small route table, JSON error bodies and security headers. No business logic.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { splitHostPort } from '../config.js';
import { ApproverAuth } from './auth.js';
import type { HttpServerDeps, RouteDeps } from './route-deps.js';
import { DEFAULT_BODY_LIMIT } from './body.js';
import { HttpError, HttpErrorCode, sendError } from './http-error.js';
import { Router, type RouteContext, type RouteHandler } from './router.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerEventRoutes } from './routes/events.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerSuggestionRoutes } from './routes/suggestions.js';

export type { ApprovalsApi } from './routes/approvals.js';
export type { HttpServerDeps, RouteDeps } from './route-deps.js';
export type { ReadinessProbes } from './routes/health.js';
export type { RouteContext, RouteHandler } from './router.js';
export { HttpError, HttpErrorCode, sendJson, sendError } from './http-error.js';
export { readBody, readJsonBody } from './body.js';

/** How long close() waits for in-flight requests before cutting their connections. */
const CLOSE_GRACE_MS = 5000;

export interface HttpServer {
  /** Starts listening on "host:port" (port 0 picks a free port); resolves with the bound address. */
  listen(hostPort: string): Promise<{ port: number; host: string }>;
  /** Ends event streams, stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
  /**
   * Mounts another route (e.g. Teams `POST /api/messages`). `path` is exact or has `:name` segments
   * (values in ctx.params). The handler gets the raw request (body unread) and response; a thrown
   * HttpError becomes its JSON error body, anything else a 500.
   */
  addRoute(method: string, path: string, handler: RouteHandler): void;
  /** The approver a request is authenticated as (bearer token or console session), or a thrown 401 HttpError: for mounted routes. */
  requireApprover(req: IncomingMessage): string;
  readonly server: Server;
}

export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const router = new Router();
  const auth = new ApproverAuth(deps.tokens, deps.sessionTtlMs === undefined ? {} : { sessionTtlMs: deps.sessionTtlMs });
  const routeDeps: RouteDeps = { ...deps, auth, router, bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT };
  const log = deps.logger.child({ component: 'http' });

  registerHealthRoutes(routeDeps);
  registerMetricsRoute(routeDeps);
  registerApprovalRoutes(routeDeps);
  registerSessionRoutes(routeDeps);
  const events = registerEventRoutes(routeDeps);
  registerConsoleRoutes(routeDeps);
  registerSuggestionRoutes(routeDeps);

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000 }, (req, res) => {
    void dispatch(req, res);
  });

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://pgwarden.invalid');
    } catch {
      sendError(res, new HttpError(400, HttpErrorCode.badRequest, 'malformed request URL'));
      return;
    }
    const method = req.method ?? 'GET';
    const match = router.match(method, url.pathname);
    try {
      if (match.kind === 'not_found') throw new HttpError(404, HttpErrorCode.notFound, `no route for ${method} ${url.pathname}`);
      if (match.kind === 'method_not_allowed') {
        throw new HttpError(405, HttpErrorCode.methodNotAllowed, `${method} is not allowed on ${url.pathname}; use ${match.allow.join(', ')}`, {
          Allow: match.allow.join(', '),
        });
      }
      const ctx: RouteContext = { params: match.params, url };
      await match.handler(req, res, ctx);
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status >= 500) log.warn({ status: err.status, path: url.pathname, code: err.code }, err.message);
        sendError(res, err);
        if (err.status === 413) req.resume();
        return;
      }
      const ref = randomUUID().slice(0, 8);
      log.error({ err, ref, method, path: url.pathname }, 'http handler failed');
      sendError(res, new HttpError(500, HttpErrorCode.internal, `internal error (ref ${ref}); details are in the pgwarden log`));
    }
  }

  return {
    server,
    addRoute(method, path, handler) {
      router.add(method, path, handler);
    },
    requireApprover: (req) => auth.require(req).identity,
    listen(hostPort) {
      const { host, port } = splitHostPort(hostPort);
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const addr = server.address();
          const bound = typeof addr === 'object' && addr ? { port: addr.port, host: addr.address } : { port, host };
          log.info({ http: `${bound.host}:${bound.port}` }, 'http server listening');
          resolve(bound);
        });
      });
    },
    async close() {
      events.close();
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A client that keeps a request open past the grace period does not hold shutdown hostage.
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      });
    },
  };
}
