// Rules reload while clients stay connected: a valid change takes effect on open connections, an invalid one is refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { urlFor } from '../../helpers/env.js';

const allowAll = `version: 1\ndefaults: { action: allow, on_unknown: deny }\nrules: []\n`;
const denyReload = `version: 1
defaults: { action: allow, on_unknown: deny }
rules:
  - id: no-reload-probe
    match: { tables: [reload_probe] }
    action: deny
    message: reload_probe is closed
`;

let app: TestApp;
let rulesFile: string;
beforeAll(async () => {
  app = await startTestApp({ rules: allowAll });
  rulesFile = join(dirname(app.auditFile), 'rules.yaml');
});
afterAll(async () => {
  await app.close();
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

it('a changed rule file applies to connections that are already open; an invalid one leaves the old rules in force', async () => {
  const c = new pg.Client(urlFor(app.port));
  await c.connect();
  await c.query('CREATE TEMP TABLE reload_probe (a int)');
  await c.query('SELECT * FROM reload_probe');

  writeFileSync(rulesFile, denyReload);
  await eventually(async () => (await c.query('SELECT * FROM reload_probe').then(() => false, (e: pg.DatabaseError) => e.code === '42501')));
  const err = (await c.query('SELECT * FROM reload_probe').catch((e: unknown) => e)) as pg.DatabaseError;
  expect(err.message).toContain('reload_probe is closed');

  writeFileSync(rulesFile, 'version: 1\nrules:\n  - id: broken\n    match: { category: [exprt] }\n    action: deny\n');
  expect(app.reloadRules()).toBe(false);
  await new Promise((r) => setTimeout(r, 300));
  const still = (await c.query('SELECT * FROM reload_probe').catch((e: unknown) => e)) as pg.DatabaseError;
  expect(still.code).toBe('42501');
  expect((await app.metrics.registry.getSingleMetricAsString('pgwarden_rules_reloads_total'))).toMatch(/result="refused"} [1-9]/);

  // A policy without rules never replaces one with rules (a truncated file would otherwise open everything).
  writeFileSync(rulesFile, allowAll);
  expect(app.reloadRules()).toBe(false);
  expect((await c.query('SELECT * FROM reload_probe').catch((e: unknown) => e)) as pg.DatabaseError).toMatchObject({ code: '42501' });
  writeFileSync(rulesFile, `${allowAll.replace('rules: []', 'rules:')}\n  - { id: reads, match: { category: read }, action: allow }\n`);
  expect(app.reloadRules()).toBe(true);
  expect((await c.query('SELECT count(*)::int AS n FROM reload_probe')).rows[0].n).toBe(0);
  await c.end();
});
