// POST /api/slack/actions: reads Slack's form-encoded interaction body as raw bytes (the signature covers them exactly) and hands it to the Slack channel, which verifies and answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../body.js';
import { HttpError, HttpErrorCode, sendJson } from '../http-error.js';

/** Interaction payloads carry the clicked message's blocks (a few tens of KB at most) or a modal's state. */
export const SLACK_BODY_LIMIT = 1024 * 1024;

export const SLACK_ACTIONS_PATH = '/api/slack/actions';

/** What the route needs from pgwarden's HTTP server (createHttpServer's addRoute). */
export interface RouteHost {
  addRoute(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): void;
}

/** What the route needs from the Slack channel. */
export interface InteractionHandler {
  handleInteraction(request: { rawBody: Buffer; headers: Record<string, string | string[] | undefined> }): Promise<{ status: number; body?: unknown }>;
}

export function slackActionsHandler(slack: InteractionHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // Errors propagate to the server: HttpErrors become their JSON body (413 drains the rest), anything else a logged 500 with a ref.
  return async (req, res) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new HttpError(415, HttpErrorCode.unsupportedMediaType, `expected Content-Type: application/x-www-form-urlencoded (a Slack interaction), got ${type ? `'${type}'` : 'none'}`);
    }
    const rawBody = await readBody(req, SLACK_BODY_LIMIT);
    const out = await slack.handleInteraction({ rawBody, headers: req.headers as Record<string, string | string[] | undefined> });
    if (out.body === undefined) {
      res.writeHead(out.status, { 'Content-Length': 0, 'Cache-Control': 'no-store' });
      res.end();
    } else {
      sendJson(res, out.status, out.body);
    }
  };
}

/** Mounts the interactivity endpoint at `path` (default /api/slack/actions). */
export function mountSlackRoute(http: RouteHost, slack: InteractionHandler, path = SLACK_ACTIONS_PATH): void {
  http.addRoute('POST', path, slackActionsHandler(slack));
}
