// The demo's rules: the shipped default rules, unchanged except that the demo approver is added to every approver
// group (the defaults put dba@example.com in `dba` only, so the GRANT example would have nobody to approve it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { DEFAULT_RULES } from '../config.js';

/** The identity the demo signs the console in as. A group member in the default rules, so the banner reads naturally. */
export const DEMO_APPROVER = 'dba@example.com';

/** Writes `rules.yaml` into `dir` and returns its path and the groups the approver was added to. */
export function writeDemoRules(dir: string, approver: string = DEMO_APPROVER): { file: string; addedTo: string[] } {
  const doc = parseDocument(readFileSync(DEFAULT_RULES, 'utf8'));
  const groups = doc.get('groups');
  const addedTo: string[] = [];
  if (isMap(groups)) {
    for (const pair of groups.items) {
      const name = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
      const members = pair.value;
      if (isSeq(members) && !members.items.some((m) => String((m as { value?: unknown }).value ?? m) === approver)) {
        members.add(doc.createNode(approver));
        addedTo.push(name);
      }
    }
  }
  doc.commentBefore = ` pgwarden demo: the shipped rules/default.yaml with ${approver} added to the approver groups ${addedTo.join(', ') || '(none)'}.\n${doc.commentBefore ?? ''}`;
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, doc.toString());
  return { file, addedTo };
}
