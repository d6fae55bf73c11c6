// Where a test saves its screenshot: docs/img/NAME when PGWARDEN_UPDATE_SCREENSHOTS=1 (to refresh the docs), else
// .tmp/screenshots/NAME, so an ordinary test run leaves the working tree clean.
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export function screenshotPath(name: string): string {
  return process.env.PGWARDEN_UPDATE_SCREENSHOTS === '1' ? resolve(ROOT, 'docs/img', name) : resolve(ROOT, '.tmp/screenshots', name);
}
