#!/usr/bin/env node
// Builds the Teams app package (a flat zip of manifest.json, color.png, outline.png) from docker/teams-app/, with your
// bot's app id and host filled in. Node's zlib only: no zip or jq needed.
//   node scripts/teams-app-package.mjs --app-id 4f1c… --host pgwarden.example.com [--out pgwarden-teams.zip]
// --app-id defaults to PGWARDEN_TEAMS_APP_ID, --host to the host of PGWARDEN_PUBLIC_URL. Upload the zip in the Teams
// admin center (docs/teams.md, step 3).
import { crc32, deflateRawSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const appDir = join(repo, 'docker/teams-app');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HOST = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

function fail(message) {
  process.stderr.write(`teams-app-package: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    'app-id': { type: 'string' },
    host: { type: 'string' },
    out: { type: 'string', default: 'pgwarden-teams.zip' },
    version: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 6).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}

const appId = values['app-id'] ?? process.env.PGWARDEN_TEAMS_APP_ID;
if (!appId) fail('--app-id is required (the Microsoft App ID of your Azure Bot), or set PGWARDEN_TEAMS_APP_ID');
if (!GUID.test(appId)) fail(`--app-id must be a GUID such as 4f1c2a5e-0000-4000-8000-00000000b07a, got '${appId}'`);
let host = values.host;
if (!host && process.env.PGWARDEN_PUBLIC_URL) {
  try {
    host = new URL(process.env.PGWARDEN_PUBLIC_URL).hostname;
  } catch {
    fail(`PGWARDEN_PUBLIC_URL is not a URL: '${process.env.PGWARDEN_PUBLIC_URL}'`);
  }
}
if (!host) fail('--host is required (the public host name of pgwarden, as in approvals.public_url), or set PGWARDEN_PUBLIC_URL');
if (!HOST.test(host)) fail(`--host must be a host name such as pgwarden.example.com (no scheme, port or path), got '${host}'`);

const manifest = JSON.parse(readFileSync(join(appDir, 'manifest.json'), 'utf8'));
manifest.id = appId;
manifest.bots[0].botId = appId;
manifest.validDomains = [host];
manifest.developer.websiteUrl = `https://${host}`;
manifest.developer.privacyUrl = `https://${host}/privacy`;
manifest.developer.termsOfUseUrl = `https://${host}/terms`;
if (values.version) {
  if (!/^\d+\.\d+\.\d+$/.test(values.version)) fail(`--version must be MAJOR.MINOR.PATCH, got '${values.version}'`);
  manifest.version = values.version;
}

const files = [
  { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') },
  { name: 'color.png', data: readFileSync(join(appDir, 'color.png')) },
  { name: 'outline.png', data: readFileSync(join(appDir, 'outline.png')) },
];

/** A ZIP archive (PKWARE APPNOTE 4.3.7: local headers, deflated data, central directory, end record). */
function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  // 1980-01-01 00:00 in DOS time: a fixed stamp keeps the package byte-for-byte reproducible.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, nameBytes, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by: 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const out = resolve(values.out);
writeFileSync(out, zip(files));
process.stdout.write(`wrote ${out} (app id ${appId}, host ${host}): upload it in the Teams admin center (Teams apps → Manage apps → Upload new app)\n`);
