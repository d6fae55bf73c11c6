// loadRules(path): a rule file or a folder of them (name order) → validated, compiled RuleSet. The only I/O in policy/.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RuleFileError } from '../errors.js';
import { compileFiles, type ValidatedFile } from './compile.js';
import { createRuleSet, type RuleSet } from './evaluate.js';
import { ruleFileSchema } from './schema.js';
import { shadowWarnings } from './shadow.js';
import { parseYaml, readYaml, validateYaml, type YamlSource } from './yaml-source.js';

const RULE_FILE = /\.ya?ml$/i;
/** Fixture files (`pgwarden rules test`) may sit next to rules; they are never rules themselves. */
const TEST_FILE = /\.test\.ya?ml$/i;

/**
 * The rule files a path stands for: the file itself, or the folder's `*.yaml`/`*.yml` files in
 * name order (not recursing: `examples/` and `tests/` subfolders are ignored).
 */
export function ruleFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new RuleFileError(path, 1, 1, `cannot read the rules (${(err as NodeJS.ErrnoException).code ?? String(err)}); check --rules or PGWARDEN_RULES`);
  }
  if (!isDir) return [path];
  const names = readdirSync(path, { withFileTypes: true })
    .filter((e) => e.isFile() && RULE_FILE.test(e.name) && !TEST_FILE.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) throw new RuleFileError(path, 1, 1, 'the folder holds no *.yaml or *.yml rule files');
  return names.map((n) => join(path, n));
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An empty file, or one cut short before its first key, must never become a valid empty policy: that is how a
 * rule file truncated in place (`: > rules.yaml`, an editor writing slowly) once allowed everything.
 */
function checkNotEmpty(src: YamlSource): void {
  if (src.value === null || src.value === undefined) {
    throw new RuleFileError(src.file, 1, 1, `the rule file is empty (no YAML content, or only comments): an empty, cut or half-written file is never loaded; to run with no rules on purpose write \`rules: []\` and state \`defaults: { action: allow | deny | review }\``);
  }
  if (!isMapping(src.value)) {
    throw new RuleFileError(src.file, 1, 1, 'expected a mapping with the keys version, description, defaults, groups and rules at the top level (is the file cut short?)');
  }
}

/**
 * A policy without rules is allowed only when it says so: some file holds `rules: []` and the defaults block
 * states `action`. Anything else with zero rules is a mistake (a truncated file, a file of groups only).
 */
function checkExplicitlyEmpty(sources: readonly YamlSource[]): void {
  const saysEmpty = sources.some((s) => isMapping(s.value) && Array.isArray(s.value.rules) && s.value.rules.length === 0);
  const statesAction = sources.some((s) => isMapping(s.value) && isMapping(s.value.defaults) && s.value.defaults.action !== undefined);
  if (saysEmpty && statesAction) return;
  const file = sources[0]?.file ?? 'rules';
  throw new RuleFileError(
    file,
    1,
    1,
    `the policy has no rules${saysEmpty ? ' and no defaults.action' : ''}: a truncated or unfinished rule file would allow everything; to run with no rules on purpose write \`rules: []\` and state \`defaults: { action: allow | deny | review }\``,
  );
}

function build(source: string, sources: readonly YamlSource[]): RuleSet {
  for (const src of sources) checkNotEmpty(src);
  const validated: ValidatedFile[] = sources.map((src) => ({ src, data: validateYaml(src, ruleFileSchema) }));
  const compiled = compileFiles(validated);
  if (compiled.rules.length === 0) checkExplicitlyEmpty(sources);
  return createRuleSet({
    rules: Object.freeze(compiled.rules),
    warnings: Object.freeze([...compiled.warnings, ...shadowWarnings(compiled.rules)]),
    source,
    files: Object.freeze(sources.map((s) => s.file)),
    defaults: compiled.defaults,
    groups: compiled.groups,
  });
}

/** Loads and validates rules. Throws RuleFileError (`file:line:col: reason`) for the first problem. */
export function loadRules(path: string): RuleSet {
  return build(path, ruleFiles(path).map(readYaml));
}

/** Rules from text (tests, tools): `name` is the file name shown in errors. */
export function parseRules(text: string, name = 'rules.yaml'): RuleSet {
  return build(name, [parseYaml(name, text)]);
}
