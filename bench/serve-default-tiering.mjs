// Starts `pgwarden serve` WITHOUT src/v8-flags.ts (V8's default WebAssembly tiering), only so bench/memory.sh can
// show what the flag saves. Usage: node bench/serve-default-tiering.mjs UPSTREAM_URL LISTEN HTTP
import { loadConfig } from '../dist/config.js';
import { createLogger } from '../dist/log.js';
import { startApp } from '../dist/app.js';

const [upstream, listen, http] = process.argv.slice(2);
const config = loadConfig({ upstream, listen, http }, { PGWARDEN_LOG_LEVEL: 'warn' });
const app = await startApp({ config, logger: createLogger({ level: 'warn', pretty: false }) });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
