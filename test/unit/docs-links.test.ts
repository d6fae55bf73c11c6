// The documentation stands alone in a clone: every relative link (and image) in README.md, docs/*.md and the other
// READMEs resolves to a file or folder inside the repository, and none points outside it.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const pages = [
  'README.md',
  ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...['docker/README.md', 'examples/README.md', 'bench/RESULTS.md'].filter((f) => existsSync(join(repo, f))),
];

/** Markdown link and image targets outside code spans and fenced code blocks. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('finds the pages and their links', () => {
    expect(pages).toContain('docs/errors.md');
    expect(pages.reduce((n, p) => n + links(readFileSync(join(repo, p), 'utf8')).length, 0)).toBeGreaterThan(30);
  });

  it('every relative link resolves to a file or folder inside the repository', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of links(readFileSync(join(repo, page), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // web links, mailto:, in-page anchors
        const path = decodeURIComponent(target.split('#')[0]!);
        const file = resolve(repo, dirname(page), path);
        const inside = !relative(repo, file).startsWith('..');
        if (!inside) broken.push(`${page}: ${target} leaves the repository`);
        else if (!existsSync(file)) broken.push(`${page}: ${target} does not exist`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('links docs/errors.md, the page agent builders need most, from README.md and from docs/', () => {
    expect(links(readFileSync(join(repo, 'README.md'), 'utf8'))).toContain('docs/errors.md');
    const fromDocs = pages.filter((p) => p.startsWith('docs/') && p !== 'docs/errors.md' && links(readFileSync(join(repo, p), 'utf8')).includes('errors.md'));
    expect(fromDocs.length).toBeGreaterThan(0);
  });

  it('README.md names no file outside the repository, not even in code', () => {
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).not.toMatch(/\.\.\/shared\b/);
  });
});
