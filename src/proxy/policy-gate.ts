// The production Gate: facts from sql/ (parse cache), verdict from policy/ (verdict cache), review through approvals/,
// every decision to audit and metrics. Allow and deny are synchronous; review (and strict audit) return promises.
import type { Logger } from 'pino';
import { ApprovalDenied, ApprovalExpired, ApprovalNotConfigured, ApprovalsUnavailable, ApprovalWithdrawn, AuditUnavailable, PgwardenError, PolicyDenied } from '../errors.js';
import type { AuditEvent, AuditLog } from '../audit/record.js';
import type { Metrics } from '../metrics.js';
import type { Analyzer } from '../sql/analyze.js';
import { redactSecrets, sortCategories, statedReason, strictestCategory } from '../sql/analyze.js';
import { unknownFacts } from '../sql/facts.js';
import type { TextFacts } from '../sql/types.js';
import type { RuleSet } from '../policy/evaluate.js';
import { VerdictCache } from '../policy/cache.js';
import type { ShadowVerdict, Verdict } from '../policy/verdict.js';
import type { ApprovalGateway, ApprovalOutcome, OpenApprovalInput } from '../approvals/service-types.js';
import { formatDuration } from '../units.js';
import { ALLOW, type Gate, type GateAllow, type GateDeny, type GateHold, type GateOutcome, type StatementContext } from './gate.js';

export interface PolicyGateDeps {
  readonly analyzer: Analyzer;
  /** Current rules (a reload swaps what this returns). */
  rules(): RuleSet;
  /** Null when no approval channel is configured: review then answers 42501 at once. */
  readonly approvals: ApprovalGateway | null;
  readonly audit: AuditLog;
  /** audit.required: a statement that needs an audit record is refused when the record cannot be written. */
  readonly auditRequired: boolean;
  /**
   * audit.flush every_record (the default with audit.required): an allowed statement waits until its record is on
   * disk. Without audit.required it then runs even when the write failed (its record waits in the backlog).
   */
  readonly auditWaits?: boolean;
  /** Resolves once every record appended so far is on disk (the `approved`/`grant_used` record before a held statement runs). */
  auditBarrier?(): Promise<void>;
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

function shadowOf(s: ShadowVerdict): AuditEvent['shadow'] {
  return { action: s.action, rule: s.rule, reason: s.reason, source: s.source };
}

export function createPolicyGate(deps: PolicyGateDeps): Gate {
  const cache = new VerdictCache();
  const statementCounters = new Map<string, { inc(): void }>();
  const ruleCounters = new Map<string, { inc(): void }>();
  const shadowCounters = new Map<string, { inc(): void }>();
  let sampleTick = 0;
  const now = deps.now ?? (() => new Date());

  function auditEvent(event: AuditEvent['event'], ctx: StatementContext, facts: TextFacts, verdict: Verdict, extra: Partial<AuditEvent> = {}): AuditEvent {
    return {
      event,
      actor: ctx.actor,
      database: ctx.database,
      // Secrets (role passwords, connection strings, keys) are cut out of the text from its parse tree before it is stored.
      sql: redactSecrets(ctx.text),
      normalized: facts.statements.map((s) => s.normalized).join('; '),
      categories: facts.categories,
      rule: verdict.rule,
      reason: verdict.reason,
      connection_id: ctx.connectionId,
      action: verdict.action,
      // A startup parameter judged as the equivalent SET: say so, since no client sent that text.
      ...(ctx.source === 'startup' ? { source: 'startup' as const } : {}),
      ...(verdict.shadow ? { shadow: shadowOf(verdict.shadow) } : {}),
      ...extra,
    };
  }

  /** The record of a statement refused because its own record could not be written: the log says what happened. */
  function refusedForAudit(event: AuditEvent, err: unknown): GateDeny {
    const why = err instanceof Error ? err.message : String(err);
    deps.logger.error({ err, event: event.event }, 'audit record could not be written; statement refused (audit.required)');
    const error = new AuditUnavailable(why);
    deps.audit.append({ ...event, event: 'statement_refused', reason: error.message });
    return { kind: 'deny', error };
  }

  /**
   * Writes the record. With audit.required or audit.flush every_record the statement waits until the record is on
   * disk; a record that could not be written is never written later (AuditLog contract), so the gate records what
   * happened instead: refused (audit.required), or the same event again, to wait in the backlog (the statement runs).
   */
  /**
   * Shadow mode: counts what would have been decided. A held statement's record is written by the approval service, so
   * its shadow verdict gets a record of its own; every other record carries `shadow` (auditEvent). Result budgets in
   * shadow mode are to report here too, with source 'budget'.
   */
  function recordShadow(ctx: StatementContext, facts: TextFacts, verdict: Verdict, shadow: ShadowVerdict): void {
    if (deps.metrics) counted(shadowCounters, deps.metrics.shadowVerdicts, shadow.rule ?? 'default', shadow.action).inc();
    if (verdict.action === 'review') deps.audit.append(auditEvent('statement_shadow', ctx, facts, verdict));
  }

  /** Writes the record; in strict mode the statement waits for it and is refused if it cannot be written. */
  function recorded(event: AuditEvent, outcome: GateOutcome): GateOutcome | Promise<GateOutcome> {
    if (!deps.auditRequired && !deps.auditWaits) {
      deps.audit.append(event);
      return outcome;
    }
    return deps.audit.appendDurable(event).then(
      () => outcome,
      (err: unknown) => {
        if (!deps.auditRequired) {
          deps.audit.append(event);
          return outcome;
        }
        return refusedForAudit(event, err);
      },
    );
  }

  /** A held statement that was approved (or passes under a grant) runs only after the approval's record is on disk. */
  function afterBarrier(ctx: StatementContext, facts: TextFacts, verdict: Verdict): Promise<GateAllow | GateDeny> | GateAllow {
    if (!deps.auditBarrier || (!deps.auditRequired && !deps.auditWaits)) return ALLOW;
    return deps.auditBarrier().then(
      () => ALLOW,
      (err: unknown) => (deps.auditRequired ? refusedForAudit(auditEvent('statement_allowed', ctx, facts, verdict), err) : ALLOW),
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
      // What approvers, Redis, the API and the console see: the text with its secrets redacted (sql/redact.ts).
      sql: redactSecrets(ctx.text),
      facts,
      verdict,
      actor: ctx.actor,
      database: ctx.database,
      statedReason: statedReason(ctx.text) ?? ctx.sessionReason,
      connectionId: ctx.connectionId,
    };
    return (async (): Promise<GateOutcome> => {
      try {
        if (await approvals.findGrant(input)) return await afterBarrier(ctx, facts, verdict);
        const pending = await approvals.open(input);
        const request = pending.request;
        const hold: GateHold = {
          kind: 'hold',
          requestId: request.id,
          notice: pending.notice,
          onNotice: (listener) => pending.onProgress(listener),
          withdraw: (reason) => pending.withdraw(reason),
          result: pending.outcome.then((o: ApprovalOutcome): GateAllow | GateDeny | Promise<GateAllow | GateDeny> => {
            switch (o.status) {
              case 'approved': {
                const notice = approvedNotice(o.request);
                const ran = afterBarrier(ctx, facts, verdict);
                const withNotice = (out: GateAllow | GateDeny): GateAllow | GateDeny => (out.kind === 'allow' ? { kind: 'allow', notice } : out);
                return ran instanceof Promise ? ran.then(withNotice) : withNotice(ran);
              }
              case 'denied':
                return { kind: 'deny', error: new ApprovalDenied(request.id, request.rule, o.by, o.reason) };
              case 'expired':
                return { kind: 'deny', error: new ApprovalExpired(request.id, request.rule, formatDuration(verdict.review?.timeoutMs ?? 0)) };
              default:
                return { kind: 'deny', error: new ApprovalWithdrawn(request.id, o.request.withdrawnReason ?? 'client_cancel') };
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

  /** "pgwarden: request apr_… approved by alice@example.com: reason" — the agent learns who let it through and why. */
  function approvedNotice(request: ApprovalOutcome['request']): string {
    const votes = request.decisions.filter((d) => d.decision === 'approve').map((d) => `${d.by}${d.reason ? `: ${d.reason.slice(0, 1000)}` : ''}`);
    const scoped = request.decisions.some((d) => d.decision === 'approve' && d.scope === 'fingerprint');
    return `pgwarden: request ${request.id} approved by ${votes.join('; ') || 'an approver'}${scoped ? ` (statements of the same shape from this actor pass for ${formatDuration(request.grantTtlMs)})` : ''}`;
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
      if (verdict.shadow) recordShadow(ctx, facts, verdict, verdict.shadow);
      if (verdict.action === 'deny') {
        const error = new PolicyDenied(verdict.rule, verdict.reason);
        // The shape lets the audit log summarise a flood of one denied statement (audit.denied_flood).
        deps.audit.append(auditEvent('statement_denied', ctx, facts, verdict), { shape: facts.statements.map((s) => s.fingerprint).join(',') });
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
      // A read with a shadow verdict is recorded whatever audit.reads says: it is what a shadow rollout watches.
      if (verdict.shadow || deps.shouldAuditRead()) return recorded(auditEvent('statement_read', ctx, facts, verdict), ALLOW);
      return ALLOW;
    },
  };
}
