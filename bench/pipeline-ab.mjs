// JS cost of one pgbench -S transaction through the statement pipeline (and, where the build has it, the reply queue),
// without sockets: isolates pgwarden's own work from syscalls and machine load. Compares two builds.
// Usage: node bench/pipeline-ab.mjs DIST_DIR [extended|simple]     (prints µs per transaction; run several times, take the min)
import { resolve } from 'node:path';
const [dist = 'dist', mode = 'extended'] = process.argv.slice(2);
const root = resolve(dist);
const { Pipeline } = await import(`${root}/proxy/pipeline.js`);
const { loadSqlParser, createAnalyzer } = await import(`${root}/sql/analyze.js`);
await loadSqlParser();
const analyzer = createAnalyzer({ maxRows: 10000, cacheEntries: 10000 });
// A gate that analyzes like the policy gate and allows (the policy engine itself costs ~0.05 µs, bench/policy-bench.ts).
const gate = {
  decide: (ctx) => {
    const facts = analyzer.analyze(ctx.text, ctx.sqlSession);
    ctx.report?.({ facts, verdict: { action: 'allow', rule: null, reason: '' } });
    return { kind: 'allow' };
  },
};
let lexer;
try {
  lexer = new (await import(`${root}/proxy/lexer-state.js`)).LexerState();
} catch {
  lexer = undefined; // builds before the lexer state existed
}
const out = [];
const host = {
  gate, actor: { user: 'u', application: '', address: '' }, database: 'd', connectionId: 'c', txStatus: 'I',
  standardConformingStrings: true, lexer, maxStatementSize: 1 << 20,
  forward: (b) => out.push(b), toClient: () => {}, armSubstitution: () => {}, onHoldChange: () => {}, terminate: () => {},
  fail: (e) => { throw e; },
};
const p = new Pipeline(host);
const msg = (code, body) => {
  const b = Buffer.alloc(5 + body.length);
  b.write(code, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return { code: b[0], bytes: b };
};
const text = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1;';
const extended = [
  msg('P', Buffer.concat([Buffer.from('\0' + text + '\0'), Buffer.from([0, 1, 0, 0, 0, 23])])),
  msg('B', Buffer.from('\0\0\0\0\0\x01\0\0\0\x0512345\0\0')),
  msg('D', Buffer.from('P\0')),
  msg('E', Buffer.from('\0\0\0\0\0')),
  msg('S', Buffer.alloc(0)),
];
const Z = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
const replies = mode === 'extended' ? [0x31, 0x32, 0x54, 0x44, 0x43, 0x5a] : [0x54, 0x44, 0x43, 0x5a];
function transaction(i) {
  if (mode === 'extended') for (const f of extended) p.handle(f);
  else p.handle(msg('Q', Buffer.from(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i % 100000};\0`)));
  if (p.replies) for (const c of replies) p.replies.onBackend(c, 10, c === 0x5a ? Z : null);
  else p.onReadyForQuery();
  out.length = 0;
}
for (let i = 0; i < 50_000; i++) transaction(i);
const n = 300_000;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) transaction(i);
console.log(`${dist} ${mode}: ${(Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(2)} µs per transaction`);
