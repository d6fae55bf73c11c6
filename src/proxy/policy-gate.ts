// The production Gate: facts from sql/ (parse cache), verdict from policy/ (verdict cache), review through approvals/,
// every decision to audit and metrics. Allow and deny are synchronous; review (and strict audit) return promises.
import type { Logger } from 'pino';
import { ApprovalDenied, ApprovalExpired, ApprovalNotConfigured, ApprovalsUnavailable, ApprovalWithdrawn, AuditUnavailable, PgwardenError, PolicyDenied } from '../errors.js';
import type { AuditEvent, AuditLog } from '../audit/record.js';
import type { Metrics } from '../metrics.js';
import type { Analyzer } from '../sql/analyze.js';
import { sortCategories, statedReason, strictestCategory } from '../sql/analyze.js';
import { unknownFacts } from '../sql/facts.js';
import type { TextFacts } from '../sql/types.js';
import type { RuleSet } from '../policy/evaluate.js';
import { VerdictCache } from '../policy/cache.js';
import type { Verdict } from '../policy/verdict.js';
import type { ApprovalGateway, ApprovalOutcome, OpenApprovalInput } from '../approvals/service-types.js';
import { formatDuration } from '../units.js';
import { ALLOW, type Gate, type GateDeny, type GateHold, type GateOutcome, type StatementContext } from './gate.js';

export interface PolicyGateDeps {
  readonly analyzer: Analyzer;
  /** Current rules (a reload swaps what this returns). */
  rules(): RuleSet;
  /** Null when no approval channel is configured: review then answers 42501 at once. */
  readonly approvals: ApprovalGateway | null;
  readonly audit: AuditLog;
  /** audit.required: a statement that needs an audit record is refused when the record cannot be written. */
  readonly auditRequired: boolean;
  /** Whether this read statement should be audited (config audit.reads: none | sample | all). */
  shouldAuditRead(): boolean;
  readonly metrics?: Metrics;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** prom-client resolves a label object on every inc(); the children are resolved once per label pair here. */
function counted(children: Map<string, { inc(): void }>, counter: Metrics['statements'], a: string, b: string): { inc(): void } {
  const key = `${a}\u0000${b}`;
  let child = children.get(key);
  if (!child) {
    child = counter.labels(a, b);
    children.set(key, child);
  }
  return child;
}

export function createPolicyGate(deps: PolicyGateDeps): Gate {
  const cache = new VerdictCache();
  const statementCounters = new Map<string, { inc(): void }>();
  const ruleCounters = new Map<string, { inc(): void }>();
  let sampleTick = 0;
  const now = deps.now ?? (() => new Date());

  function auditEvent(event: AuditEvent['event'], ctx: StatementContext, facts: TextFacts, verdict: Verdict, extra: Partial<AuditEvent> = {}): AuditEvent {
    return {
      event,
      actor: ctx.actor,
      database: ctx.database,
      sql: ctx.text,
      normalized: facts.statements.map((s) => s.normalized).join('; '),
      categories: facts.categories,
      rule: verdict.rule,
      reason: verdict.reason,
      connection_id: ctx.connectionId,
      ...extra,
    };
  }

  /** Writes the record; in strict mode the statement waits for it and is refused if it cannot be written. */
  function recorded(event: AuditEvent, outcome: GateOutcome): GateOutcome | Promise<GateOutcome> {
    if (!deps.auditRequired) {
      deps.audit.append(event);
      return outcome;
    }
    return deps.audit.appendDurable(event).then(
      () => outcome,
      (err: unknown) => {
        deps.logger.error({ err, event: event.event }, 'audit record could not be written; statement refused (audit.required)');
        return { kind: 'deny', error: new AuditUnavailable(err instanceof Error ? err.message : String(err)) } as GateDeny;
      },
    );
  }

  function review(ctx: StatementContext, facts: TextFacts, verdict: Verdict): GateOutcome | Promise<GateOutcome> {
    const approvals = deps.approvals;
    if (!approvals) {
      const error = new ApprovalNotConfigured(verdict.rule);
      deps.audit.append(auditEvent('statement_denied', ctx, facts, verdict, { reason: error.message }));
      return { kind: 'deny', error };
    }
    const input: OpenApprovalInput = {
      sql: ctx.text,
      facts,
      verdict,
      actor: ctx.actor,
      database: ctx.database,
      statedReason: statedReason(ctx.text) ?? ctx.sessionReason,
      connectionId: ctx.connectionId,
    };
    return (async (): Promise<GateOutcome> => {
      try {
        if (await approvals.findGrant(input)) return ALLOW;
        const pending = await approvals.open(input);
        const request = pending.request;
        const hold: GateHold = {
          kind: 'hold',
          requestId: request.id,
          notice: pending.notice,
          onNotice: (listener) => pending.onProgress(listener),
          withdraw: (reason) => pending.withdraw(reason),
          result: pending.outcome.then((o: ApprovalOutcome) => {
            switch (o.status) {
              case 'approved':
                return ALLOW;
              case 'denied':
                return { kind: 'deny', error: new ApprovalDenied(request.id, request.rule, o.by, o.reason) };
              case 'expired':
                return { kind: 'deny', error: new ApprovalExpired(request.id, request.rule, formatDuration(verdict.review?.timeoutMs ?? 0)) };
              default:
                return { kind: 'deny', error: new ApprovalWithdrawn(request.id) };
            }
          }),
        };
        return hold;
      } catch (err) {
        const error = err instanceof PgwardenError ? err : new ApprovalsUnavailable(err instanceof Error ? err.message : String(err));
        deps.logger.warn({ err, rule: verdict.rule }, 'approval could not be requested; statement refused');
        deps.audit.append(auditEvent('statement_denied', ctx, facts, verdict, { reason: error.message }));
        return { kind: 'deny', error };
      }
    })();
  }

  /**
   * A protocol-level named statement shares the namespace of SQL PREPARE, so a later SQL `EXECUTE name` must carry
   * its facts. Like a repeated PREPARE, a re-Parse of a name adds to (never replaces) what was known.
   */
  function rememberPrepared(ctx: StatementContext, facts: TextFacts): void {
    const name = ctx.statementName!;
    const known = ctx.sqlSession.prepared.get(name);
    if (!known) ctx.sqlSession.prepared.set(name, facts);
    else if (known !== facts) {
      const statements = [...known.statements, ...facts.statements];
      const categories = sortCategories([...known.categories, ...facts.categories]);
      ctx.sqlSession.prepared.set(name, { text: facts.text, statements, categories, parseError: facts.parseError ?? known.parseError });
    }
  }

  function analyze(ctx: StatementContext): TextFacts {
    // With standard_conforming_strings off, 'a\'; DROP …' hides code from a parser that assumes it on (libpg-query
    // does): any backslash then makes the text unknown, which fails closed.
    if (!ctx.standardConformingStrings && ctx.text.includes('\\')) {
      return unknownFacts(ctx.text, 'standard_conforming_strings is off and the text contains a backslash, so pgwarden cannot be sure how the server splits it; SET standard_conforming_strings = on, or use E\'…\' strings');
    }
    return deps.analyzer.analyze(ctx.text, ctx.sqlSession);
  }

  return {
    decide(ctx) {
      // Latency is sampled (1 statement in 16): timing every statement costs more than the cached decision itself.
      const timed = deps.metrics !== undefined && (++sampleTick & 15) === 0;
      const started = timed ? process.hrtime.bigint() : 0n;
      const facts = ctx.facts ?? analyze(ctx);
      // Recorded whatever the verdict: a refused Parse creates nothing upstream, and remembering it only makes EXECUTE stricter.
      if (ctx.statementName) rememberPrepared(ctx, facts);
      const verdict = cache.evaluate(deps.rules(), facts, ctx.actor, { database: ctx.database, inTransactionBlock: ctx.inTransactionBlock, now: now() });
      ctx.report?.({ facts, verdict });
      if (deps.metrics) {
        if (timed) deps.metrics.policySeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        counted(statementCounters, deps.metrics.statements, strictestCategory(facts.categories), verdict.action).inc();
        if (verdict.rule) counted(ruleCounters, deps.metrics.ruleHits, verdict.rule, verdict.action).inc();
      }
      if (verdict.action === 'deny') {
        const error = new PolicyDenied(verdict.rule, verdict.reason);
        deps.audit.append(auditEvent('statement_denied', ctx, facts, verdict));
        return { kind: 'deny', error };
      }
      if (verdict.action === 'review') {
        // A startup setting cannot wait for a human: the connection does not exist yet. Refused, and recorded as such.
        if (ctx.source === 'startup') {
          const error = new PolicyDenied(verdict.rule, `${verdict.reason} (needs review, which a startup setting cannot wait for)`);
          deps.audit.append(auditEvent('statement_denied', ctx, facts, verdict, { reason: error.message }));
          return { kind: 'deny', error };
        }
        return review(ctx, facts, verdict);
      }
      for (const s of facts.statements) if (s.setsReason !== undefined) ctx.setSessionReason?.(s.setsReason);
      const isRead = facts.categories.length === 1 && facts.categories[0] === 'read';
      if (!isRead) return recorded(auditEvent('statement_allowed', ctx, facts, verdict), ALLOW);
      if (deps.shouldAuditRead()) return recorded(auditEvent('statement_read', ctx, facts, verdict), ALLOW);
      return ALLOW;
    },
  };
}
