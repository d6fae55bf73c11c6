// The approvals API: list, read, decide. Maps store results to HTTP (not_found 404, self_approval/not_approver 403,
// already_decided/duplicate_vote/instance_lost 409, an idempotency key reused with another body 422).
import type { IncomingMessage } from 'node:http';
import type { ApprovalRequest, ApprovalStatus } from '../../approvals/request.js';
import type { DecideError, DecideInput, DecideResult, PendingStore } from '../../approvals/store.js';
import { toApiJson } from '../../approvals/api-shape.js';
import { ApprovalsUnavailable } from '../../errors.js';
import { assertCsrf, assertSameOrigin, type Principal } from '../auth.js';
import { readJsonBody } from '../body.js';
import { HttpError, HttpErrorCode, sendJson } from '../http-error.js';
import type { RouteDeps } from '../route-deps.js';

/**
 * What the HTTP server needs from approvals (the approval service has this shape): decide(), reads that settle a due
 * request before showing it (expired, or its holding instance gone), and the store's event feed.
 */
export interface ApprovalsApi {
  decide(input: DecideInput): Promise<DecideResult>;
  get(id: string): Promise<ApprovalRequest | null>;
  list(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRequest[]>;
  readonly store: Pick<PendingStore, 'subscribe'>;
}

export const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'withdrawn'];
const DECISIONS = ['approve', 'deny'] as const;
const SCOPES = ['once', 'fingerprint'] as const;
/** Channels a bearer client may name in `via`; console sessions are always `console`. */
const BEARER_VIA = ['api', 'cli', 'webhook'] as const;
const BODY_KEYS = new Set(['decision', 'reason', 'scope', 'via']);
const MAX_REASON = 2000;
const MAX_IDEMPOTENCY_KEY = 200;
const MAX_LIST = 500;

export function requireApprovals(deps: RouteDeps): ApprovalsApi {
  if (!deps.approvals) throw new HttpError(503, HttpErrorCode.unavailable, 'approvals are not enabled on this pgwarden instance');
  return deps.approvals;
}

/** Store calls fail with ApprovalsUnavailable when Redis is down: that is a 503, not a 500. */
export async function callStore<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApprovalsUnavailable) throw new HttpError(503, HttpErrorCode.unavailable, err.message, { 'Retry-After': '5' });
    throw err;
  }
}

export function registerApprovalRoutes(deps: RouteDeps): void {
  const { router, auth } = deps;

  router.add('GET', '/api/approvals', async (req, res, { url }) => {
    auth.require(req);
    const approvals = requireApprovals(deps);
    const status = url.searchParams.get('status');
    if (status !== null && !STATUSES.includes(status as ApprovalStatus)) {
      throw new HttpError(400, HttpErrorCode.badRequest, `unknown status '${status}'; use one of ${STATUSES.join(', ')}`);
    }
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw new HttpError(400, HttpErrorCode.badRequest, `limit must be an integer from 1 to ${MAX_LIST}, got '${limitText}'`);
    }
    const list = await callStore(() => approvals.list({ ...(status ? { status: status as ApprovalStatus } : {}), limit }));
    sendJson(res, 200, { approvals: list.map(toApiJson) });
  });

  router.add('GET', '/api/approvals/:id', async (req, res, { params }) => {
    auth.require(req);
    const approvals = requireApprovals(deps);
    const request = await callStore(() => approvals.get(params.id!));
    if (!request) throw notFound(params.id!);
    sendJson(res, 200, toApiJson(request));
  });

  router.add('POST', '/api/approvals/:id/decision', async (req, res, { params }) => {
    assertSameOrigin(req, deps.publicUrl);
    const principal = auth.require(req);
    assertCsrf(req, principal);
    const approvals = requireApprovals(deps);
    const input = await parseDecision(req, params.id!, principal, deps.bodyLimit);
    const result = await callStore(() => approvals.decide(input));
    if (result.ok) {
      deps.logger.info({ request_id: input.id, by: input.by, decision: input.decision, via: input.via, settled: result.settled, replayed: result.replayed === true }, 'approval decision');
      // As Stripe does: a replay answers like the first call and says so in a header.
      sendJson(res, 200, toApiJson(result.request), result.replayed ? { 'Idempotent-Replayed': 'true' } : {});
      return;
    }
    throw decideError(result.error, input, result.request);
  });
}

async function parseDecision(req: IncomingMessage, id: string, principal: Principal, limit: number): Promise<DecideInput> {
  const body = await readJsonBody(req, limit);
  const unknown = Object.keys(body).filter((k) => !BODY_KEYS.has(k));
  if (unknown.length > 0) throw badBody(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; allowed: decision, reason, scope, via`);
  const { decision, reason, scope, via } = body;
  if (!DECISIONS.includes(decision as 'approve')) throw badBody(`'decision' must be "approve" or "deny", got ${JSON.stringify(decision) ?? 'nothing'}`);
  if (reason !== undefined && typeof reason !== 'string') throw badBody(`'reason' must be a string, got ${typeof reason}`);
  if (typeof reason === 'string' && reason.length > MAX_REASON) throw badBody(`'reason' is ${reason.length} characters; the limit is ${MAX_REASON}`);
  if (scope !== undefined && !SCOPES.includes(scope as 'once')) throw badBody(`'scope' must be "once" or "fingerprint", got ${JSON.stringify(scope)}`);
  if (via !== undefined && !BEARER_VIA.includes(via as 'api')) throw badBody(`'via' must be one of ${BEARER_VIA.join(', ')}, got ${JSON.stringify(via)}`);
  const key = req.headers['idempotency-key'];
  if (typeof key === 'string' && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(key))) {
    throw badBody(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces`);
  }
  return {
    id,
    by: principal.identity,
    decision: decision as 'approve' | 'deny',
    reason: typeof reason === 'string' ? reason.trim() : '',
    ...(scope !== undefined ? { scope: scope as 'once' | 'fingerprint' } : {}),
    via: principal.method === 'session' ? 'console' : ((via as string | undefined) ?? 'api'),
    ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
  };
}

function badBody(message: string): HttpError {
  return new HttpError(400, HttpErrorCode.badRequest, message);
}

function notFound(id: string): HttpError {
  return new HttpError(404, HttpErrorCode.notFound, `no approval request '${id}' (unknown id, or settled and past retention)`);
}

function decideError(error: DecideError, input: DecideInput, request: ApprovalRequest | null): HttpError {
  switch (error) {
    case 'not_found':
      return notFound(input.id);
    case 'self_approval':
      return new HttpError(403, HttpErrorCode.selfApproval, `${input.by} requested ${input.id} (or owns the agent that did) and cannot approve or deny it; ask another approver`);
    case 'not_approver': {
      const who = request && request.approvers.length > 0 ? `; approvers: ${request.approvers.join(', ')}` : '';
      return new HttpError(403, HttpErrorCode.notApprover, `${input.by} is not an approver for rule ${request?.rule ?? '(default)'}${who}`);
    }
    case 'already_decided': {
      const last = request?.decisions.at(-1);
      const how = request?.status === 'approved' || request?.status === 'denied'
        ? `${request.status}${last ? ` by ${last.by}${last.reason ? ` (${last.reason})` : ''}` : ''}`
        : (request?.status ?? 'decided');
      return new HttpError(409, HttpErrorCode.alreadyDecided, `request ${input.id} is already ${how}`);
    }
    case 'duplicate_vote':
      return new HttpError(409, HttpErrorCode.duplicateVote, `${input.by} already voted on ${input.id}; it needs ${request?.quorum ?? 'more'} distinct approvers`);
    case 'instance_lost':
      return new HttpError(
        409,
        HttpErrorCode.instanceLost,
        `request ${input.id} is withdrawn (instance_lost): the pgwarden instance ${request?.instance ?? ''} that held the client connection is gone, so nothing can run; the agent has to send the statement again`.replace('  ', ' '),
      );
    case 'idempotency_mismatch':
      return new HttpError(
        422,
        HttpErrorCode.idempotencyKeyReused,
        `Idempotency-Key was already used by ${input.by} on ${input.id} with a different decision, reason or scope; send the same body to repeat it, or a new key for a new decision`,
      );
  }
}
