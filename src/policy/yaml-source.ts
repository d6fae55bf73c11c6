// YAML files with positions: parse once, then turn a path into the data (zod issue or compile error) into file:line:col.
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { RuleFileError } from '../errors.js';

export type DataPath = readonly PropertyKey[];

export interface YamlSource {
  /** The file name as shown in messages (as the user wrote the path). */
  readonly file: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  /** Plain JS value of the document. */
  readonly value: unknown;
}

/** Reads and parses a YAML file; syntax errors become RuleFileError with the parser's position. */
export function readYaml(file: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RuleFileError(file, 1, 1, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`);
  }
  return parseYaml(file, text);
}

export function parseYaml(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new RuleFileError(file, Math.max(pos.line, 1), pos.col, `invalid YAML: ${first.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases (`*x` without `&x`) and alias bombs surface only when converting.
    throw new RuleFileError(file, 1, 1, `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return { file, doc, lineCounter, value };
}

/** The YAML node at `path`, or the nearest ancestor that exists. With `key`, the key node of the last step instead of its value. */
function nodeAt(src: YamlSource, path: DataPath, key?: string): Node | null {
  let node: unknown = src.doc.contents;
  for (const step of path) {
    if (step === 0 && !isSeq(node)) {
      // A single value where a list is allowed (`category: ddl`, `time: {…}`) was wrapped into [value] before validation.
      continue;
    }
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) break;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof step === 'number' && node.items[step] !== undefined) {
      node = node.items[step];
    } else {
      break;
    }
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key)) node = pair.key;
  }
  return (node as Node | null) ?? null;
}

/** 1-based line and column of the data at `path` (of its key when `key` is given). */
export function positionOf(src: YamlSource, path: DataPath, key?: string): { line: number; column: number } {
  const node = nodeAt(src, path, key);
  const offset = node?.range?.[0] ?? 0;
  const pos = src.lineCounter.linePos(offset);
  return { line: Math.max(pos.line, 1), column: Math.max(pos.col, 1) };
}

export function errorAt(src: YamlSource, path: DataPath, reason: string, key?: string): RuleFileError {
  const { line, column } = positionOf(src, path, key);
  return new RuleFileError(src.file, line, column, reason);
}

function valueAt(value: unknown, path: DataPath): { found: boolean; value: unknown } {
  let cur = value;
  for (const step of path) {
    if (step === 0 && !Array.isArray(cur) && cur !== undefined) continue; // a single value wrapped into a list
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, step as string)) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[step as string];
  }
  return { found: true, value: cur };
}

/** Turns one zod issue into a positioned error with a message that names the key. */
function issueError(src: YamlSource, issue: z.core.$ZodIssue): RuleFileError {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') return errorAt(src, path, issue.message, issue.keys[0]);
  const at = valueAt(src.value, path);
  if (!at.found && path.length > 0 && valueAt(src.value, path.slice(0, -1)).found) {
    const name = String(path[path.length - 1]);
    const hint = issue.code === 'invalid_value' ? ` — expected one of ${issue.values.join(', ')}` : issue.message.startsWith('Invalid input') ? '' : ` (${issue.message})`;
    return errorAt(src, path.slice(0, -1), `missing required key '${name}'${hint}`);
  }
  return errorAt(src, path, issue.message);
}

/** Validates the document with `schema`; the first problem in document order becomes a RuleFileError. */
export function validateYaml<S extends z.ZodType>(src: YamlSource, schema: S): z.output<S> {
  const result = schema.safeParse(src.value ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => issueError(src, issue));
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  throw errors[0]!;
}
