// GET /api/suggestions: rules learned from this instance's audit log (`pgwarden rules suggest`, computed by audit/learn.ts)
// for approvers — "you approved this shape 14 times this week — make it a rule?". Read-only: nothing changes live policy.
import { parseDuration } from '../../units.js';
import { HttpError, HttpErrorCode, sendJson } from '../http-error.js';
import type { RouteDeps } from '../route-deps.js';

/** What the server needs: the suggestions of a time window (the app binds it to its audit file and current rules). */
export interface SuggestionsApi {
  list(query: { since: Date; minDecisions: number }): Promise<unknown>;
}

const DEFAULT_WINDOW = '7d';
/** Longer windows read more of the audit file on every recomputation. */
const MAX_WINDOW_MS = 90 * 24 * 3600_000;

export function registerSuggestionRoutes(deps: RouteDeps): void {
  deps.router.add('GET', '/api/suggestions', async (req, res, { url }) => {
    // Suggestions quote statements and actors, like approval requests: approvers only.
    deps.auth.require(req);
    if (!deps.suggestions) {
      throw new HttpError(503, HttpErrorCode.unavailable, 'suggestions need an audit file on this instance (audit.file / --audit): pgwarden learns them from its own audit log');
    }
    const window = url.searchParams.get('since') ?? DEFAULT_WINDOW;
    const ms = /^\d+$/.test(window) ? null : parseDuration(window);
    if (ms === null || ms <= 0 || ms > MAX_WINDOW_MS) {
      throw new HttpError(400, HttpErrorCode.badRequest, `since must be a duration up to 90d such as 7d or 24h, got '${window}'`);
    }
    const minText = url.searchParams.get('min_decisions');
    const minDecisions = minText === null ? 3 : Number(minText);
    if (!Number.isInteger(minDecisions) || minDecisions < 1 || minDecisions > 1000) {
      throw new HttpError(400, HttpErrorCode.badRequest, `min_decisions must be an integer from 1 to 1000, got '${minText}'`);
    }
    sendJson(res, 200, await deps.suggestions.list({ since: new Date(Date.now() - ms), minDecisions }));
  });
}
