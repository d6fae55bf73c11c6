// Route table: exact paths and `:name` segments, per method; 404 for unknown paths, 405 (with Allow) for known paths.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  /** Values of `:name` segments, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly url: URL;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly handler: RouteHandler; readonly params: Record<string, string> }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): void {
    if (!pattern.startsWith('/')) throw new Error(`route path must start with '/': ${pattern}`);
    const m = method.toUpperCase();
    if (this.#routes.some((r) => r.method === m && r.pattern === pattern)) throw new Error(`route ${m} ${pattern} is already registered`);
    this.#routes.push({ method: m, pattern, segments: pattern.split('/').slice(1), handler });
  }

  match(method: string, pathname: string): RouteMatch {
    const parts = pathname.split('/').slice(1);
    const allow: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      // HEAD is answered by GET handlers (node:http omits the body).
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { kind: 'found', handler: route.handler, params };
      allow.push(route.method);
    }
    return allow.length > 0 ? { kind: 'method_not_allowed', allow } : { kind: 'not_found' };
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith(':')) {
      if (part === '') return null;
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return null;
      }
      params[p.slice(1)] = value;
    } else if (p !== part) return null;
  }
  return params;
}
