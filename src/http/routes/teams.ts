// POST /api/messages: reads the Bot Framework activity (size-limited JSON) and hands it to the Teams channel; the channel authenticates and answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../body.js';
import { HttpError, HttpErrorCode, sendError, sendJson } from '../http-error.js';

/** Activities are small, but message activities may carry attachments and rich channel data. */
export const TEAMS_BODY_LIMIT = 1024 * 1024;

/** What the route needs from pgwarden's HTTP server (createHttpServer's addRoute). */
export interface RouteHost {
  addRoute(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): void;
}

/** What the route needs from the Teams channel. */
export interface ActivityHandler {
  handleActivity(request: { body: unknown; headers: Record<string, string | string[] | undefined> }): Promise<{ status: number; body?: unknown }>;
}

export function teamsMessagesHandler(bot: ActivityHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      const raw = await readBody(req, TEAMS_BODY_LIMIT);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, HttpErrorCode.badRequest, 'the activity is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new HttpError(400, HttpErrorCode.badRequest, 'the activity must be a JSON object');
      }
      const out = await bot.handleActivity({ body, headers: req.headers as Record<string, string | string[] | undefined> });
      if (out.body === undefined) {
        res.writeHead(out.status, { 'Content-Length': 0, 'Cache-Control': 'no-store' });
        res.end();
      } else {
        sendJson(res, out.status, out.body);
      }
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
      else sendError(res, new HttpError(500, HttpErrorCode.internal, 'internal error handling the Teams activity'));
    }
  };
}

/** What the console's Teams panel needs from the channel. */
export interface ConversationDirectory {
  readonly configuredConversationId: string | undefined;
  knownConversations(): Promise<{ conversation_id: string; conversation_type: string; team_name?: string | undefined; channel_name?: string | undefined; captured_at: string; configured: boolean }[]>;
}

/**
 * GET /api/teams/conversations (approvers only): where cards go, and the channels and group chats the bot was added to,
 * so an operator can copy the id for teams.conversation_id from the console instead of digging in logs.
 */
export function mountTeamsConversationsRoute(http: RouteHost & { requireApprover(req: IncomingMessage): string }, directory: ConversationDirectory | null): void {
  http.addRoute('GET', '/api/teams/conversations', async (req, res) => {
    http.requireApprover(req);
    res.setHeader('Cache-Control', 'no-store');
    if (directory === null) return sendJson(res, 200, { enabled: false, configured_conversation_id: null, conversations: [] });
    const conversations = await directory.knownConversations();
    sendJson(res, 200, { enabled: true, configured_conversation_id: directory.configuredConversationId ?? null, conversations });
  });
}

/** Mounts the Teams bot at `path` (default /api/messages). */
export function mountTeamsRoute(http: RouteHost, bot: ActivityHandler, path = '/api/messages'): void {
  http.addRoute('POST', path, teamsMessagesHandler(bot));
}
