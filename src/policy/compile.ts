// Validated rule files → compiled rules, defaults and groups; cross-file checks (duplicate ids, groups, defaults).
import { compileMatch } from './match.js';
import { resolveReview, type Complain, type Groups } from './review.js';
import type { ReviewOptionsInput, RuleFileInput } from './schema.js';
import { ruleVerdicts, type CompiledRule, type PolicyDefaults } from './evaluate.js';
import { errorAt, positionOf, type DataPath, type YamlSource } from './yaml-source.js';
import type { Action, ReviewSpec, Verdict } from './verdict.js';

export interface ValidatedFile {
  readonly src: YamlSource;
  readonly data: RuleFileInput;
}

export interface Compiled {
  readonly rules: CompiledRule[];
  readonly defaults: PolicyDefaults;
  readonly groups: Map<string, readonly string[]>;
  readonly warnings: string[];
}

function where(src: YamlSource, path: DataPath, key?: string): string {
  const { line, column } = positionOf(src, path, key);
  return `${src.file}:${line}:${column}`;
}

function complainer(src: YamlSource, path: DataPath, label: string, warnings: string[]): Complain {
  return (key, reason, isWarning) => {
    if (isWarning) warnings.push(`${where(src, path, key ?? undefined)}: ${label}: ${reason}`);
    else throw errorAt(src, key ? [...path, key] : path, `${label}: ${reason}`);
  };
}

function defaultVerdict(action: Action, reason: string, review: ReviewSpec | null): Verdict {
  return Object.freeze(action === 'review' && review ? { action, rule: null, reason, review, statementIndex: 0 } : { action, rule: null, reason, statementIndex: 0 });
}

export function compileFiles(files: readonly ValidatedFile[]): Compiled {
  const warnings: string[] = [];

  // Groups and defaults first: a rule in 10-a.yaml may name a group defined in 90-groups.yaml.
  const groups = new Map<string, readonly string[]>();
  const groupFile = new Map<string, string>();
  let defaultsFrom: ValidatedFile | null = null;
  for (const f of files) {
    for (const [name, members] of Object.entries(f.data.groups ?? {})) {
      if (groups.has(name)) throw errorAt(f.src, ['groups'], `group '${name}' is already defined in ${groupFile.get(name)}; define each group once`, name);
      groups.set(name, Object.freeze([...members]));
      groupFile.set(name, where(f.src, ['groups'], name));
    }
    if (f.data.defaults) {
      if (defaultsFrom) throw errorAt(f.src, [], `defaults are already set in ${where(defaultsFrom.src, [], 'defaults')}; keep one defaults block per rule folder`, 'defaults');
      defaultsFrom = f;
    }
  }

  const d = defaultsFrom?.data.defaults;
  const baseReview: ReviewOptionsInput = d?.review ?? {};
  const dSrc = defaultsFrom?.src;
  const defaultsComplain: Complain = dSrc ? complainer(dSrc, ['defaults', 'review'], 'defaults.review', warnings) : () => {};
  const needsDefaultReview = d?.action === 'review' || (d?.on_unknown ?? 'review') === 'review';
  const defaultReview = needsDefaultReview ? resolveReview({}, baseReview, groups as Groups, defaultsComplain) : null;
  const action = d?.action ?? 'allow';
  const onUnknown = d?.on_unknown ?? 'review';
  const mode = d?.mode ?? 'enforce';
  const defaults: PolicyDefaults = {
    action,
    onUnknown,
    mode,
    unmatched: defaultVerdict(action, d?.message ?? (action === 'deny' ? 'no rule allows this statement (defaults.action is deny)' : `no rule matched; defaults.action is ${action}`), defaultReview),
    unknown: defaultVerdict(onUnknown, `the statement did not parse (category unknown); defaults.on_unknown is ${onUnknown}`, defaultReview),
  };

  const rules: CompiledRule[] = [];
  const ids = new Map<string, string>();
  for (const f of files) {
    (f.data.rules ?? []).forEach((rule, i) => {
      const path: DataPath = ['rules', i];
      const seen = ids.get(rule.id);
      if (seen) throw errorAt(f.src, [...path, 'id'], `rule id '${rule.id}' is already used at ${seen}; ids must be unique across all rule files`);
      ids.set(rule.id, where(f.src, path));
      const label = `rule '${rule.id}'`;
      const review = rule.action === 'review' ? resolveReview(rule, baseReview, groups as Groups, complainer(f.src, path, label, warnings)) : null;
      const matchInput = rule.match ?? {};
      const match = compileMatch(matchInput);
      const message = rule.message ?? rule.reason ?? null;
      const { line, column } = positionOf(f.src, path);
      rules.push(
        Object.freeze({
          id: rule.id,
          action: rule.action,
          mode: rule.mode ?? mode,
          file: f.src.file,
          line,
          column,
          description: rule.description ?? null,
          message,
          review,
          matchInput,
          match,
          isTimeDependent: match.isTimeDependent,
          verdicts: Object.freeze(ruleVerdicts(rule.id, rule.action, message, review, matchInput)),
        }),
      );
    });
  }
  return { rules, defaults, groups, warnings };
}
