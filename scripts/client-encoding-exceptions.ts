// Prints MULTIBYTE_VALUE_EXCEPTIONS for src/proxy/client-encoding-tables.ts: every multibyte character that the real
// PostgreSQL server (TEST_PG_URL) and the platform decoder read differently.
// Usage: npx tsx scripts/client-encoding-exceptions.ts   (run with the exceptions table emptied first)
import pg from 'pg';
import { disagreements } from '../test/helpers/encoding-oracle.js';

const client = new pg.Client(process.env.TEST_PG_URL);
await client.connect();
for (const encoding of ['SJIS', 'BIG5', 'GBK', 'UHC', 'GB18030', 'EUC_JP', 'EUC_KR', 'EUC_CN']) {
  const found = await disagreements(client, encoding);
  const codes = [...new Set(found.map((d) => d.hex))];
  console.log(`  ${encoding}: codes(\`${codes.join(' ')}\`),`);
  for (const d of found.slice(0, 5)) console.error(encoding, d.hex, JSON.stringify(d.server), JSON.stringify(d.pgwarden));
}
await client.end();
