// GET /api/events: Server-Sent Events for the console — a snapshot of pending and recent requests, then every change from the store (any instance).
import type { ServerResponse } from 'node:http';
import { toApiJson } from '../../approvals/api-shape.js';
import type { ApprovalRequest } from '../../approvals/request.js';
import type { RouteDeps } from '../route-deps.js';
import { callStore, requireApprovals } from './approvals.js';

/** Comment lines keep proxies and load balancers from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** How many settled requests the snapshot carries for "recent decisions". */
const RECENT = 25;

export interface EventStreams {
  /** Ends every open stream (server shutdown). */
  close(): void;
}

export function registerEventRoutes(deps: RouteDeps): EventStreams {
  const open = new Set<ServerResponse>();

  deps.router.add('GET', '/api/events', async (req, res) => {
    // EventSource cannot send headers: the console authenticates this with its session cookie (same-origin, HttpOnly).
    const principal = deps.auth.require(req);
    const approvals = requireApprovals(deps);
    // Subscribe before reading the snapshot so nothing that happens in between is lost; the page de-duplicates by id.
    const buffered: ApprovalRequest[] = [];
    let ready = false;
    const send = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unsubscribe = approvals.store.subscribe((ev) => {
      if (ready) send('request', toApiJson(ev.request));
      else buffered.push(ev.request);
    });
    let pending: ApprovalRequest[];
    let all: ApprovalRequest[];
    try {
      [pending, all] = await callStore(() => Promise.all([approvals.list({ status: 'pending', limit: 500 }), approvals.list({ limit: 200 })]));
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const recent = all
      .filter((r) => r.status !== 'pending')
      .sort((a, b) => (b.decidedAt ?? b.createdAt).localeCompare(a.decidedAt ?? a.createdAt))
      .slice(0, RECENT);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 3000\n\n');
    send('snapshot', { identity: principal.identity, pending: pending.map(toApiJson), recent: recent.map(toApiJson) });
    ready = true;
    for (const r of buffered) send('request', toApiJson(r));
    open.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  });

  return {
    close() {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
