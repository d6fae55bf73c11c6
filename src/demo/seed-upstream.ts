// `pgwarden demo --upstream URL --seed`: creates the demo tables in a real database, in one transaction, refusing to
// touch a database that already has them. Uses node-postgres, loaded only here (the embedded demo does not need it).
import { ConfigError } from '../errors.js';
import { seedSql } from './seed.js';

interface MinimalClient {
  connect(): Promise<unknown>;
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

export async function seedUpstream(url: string): Promise<void> {
  let Client: new (opts: { connectionString: string }) => MinimalClient;
  try {
    Client = ((await import('pg')) as unknown as { default: { Client: typeof Client } }).default.Client;
  } catch {
    throw new ConfigError('--seed needs the node-postgres package: run `npm install pg` next to pgwarden, or seed the tables yourself (docs/demo.md has the schema)');
  }
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new ConfigError(`--seed: cannot connect to the --upstream database: ${(err as Error).message}`);
  }
  try {
    const existing = await client.query("SELECT string_agg(tablename, ', ') AS names FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('customers', 'products', 'orders', 'order_items')");
    const names = existing.rows[0]?.names;
    if (names) throw new ConfigError(`--seed: the upstream database already has table(s) ${String(names)}; drop them or run the demo without --seed`);
    await client.query(`BEGIN;\n${seedSql()}\nCOMMIT;`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`--seed: creating the demo tables failed: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
