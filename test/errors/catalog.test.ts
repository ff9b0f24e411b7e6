import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from '../../src/errors/catalog.js';
import { errorDocs } from '../../tools/docs/error-docs.js';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

const FILES = [...sources('src'), ...sources('commands')].map((f) => ({ file: f, text: readFileSync(join(ROOT, f), 'utf8') }));

/** Error codes as the code writes them: the first argument of an error constructor, or `code: '...'` of an error's JSON form. */
function codesUsed(): Map<string, string> {
  const used = new Map<string, string>();
  for (const { file, text } of FILES) {
    for (const m of text.matchAll(/(?:new \w*Error(?:Class)?\(|super\(|\bcode: )(?:\w+ \? )?'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) {
      if (!used.has(m[1]!)) used.set(m[1]!, file);
    }
  }
  return used;
}

describe('error catalog', () => {
  it('lists every code the code reports, and nothing it does not', () => {
    const used = codesUsed();
    const known = new Set<string>(ERROR_CODES);
    const notListed = [...used].filter(([code]) => !known.has(code));
    expect(notListed.map(([c, f]) => `${c} (${f})`)).toEqual([]);
    const unused = ERROR_CODES.filter((c) => !FILES.some(({ text }) => text.includes(`'${c}'`)));
    expect(unused).toEqual([]);
  });

  it('documents every code in docs/errors.md, generated from the catalog (npm run docs:errors)', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    expect(docs).toBe(errorDocs());
    for (const code of ERROR_CODES) expect(docs).toContain(`| \`${code}\` |`);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('docs/errors.md');
  });

  it('gives each code a meaning and an exit code other than success', () => {
    for (const [code, [exit, meaning]] of Object.entries(ERROR_CATALOG)) {
      expect(exit, code).not.toBe('ok');
      expect(meaning.length, code).toBeGreaterThan(10);
    }
  });

  it('commands set no raw exit numbers (they name ExitCode values)', () => {
    const raw = FILES.filter(({ file }) => file.startsWith('commands')).filter(({ text }) => /exitCode\s*=\s*\d|\.exit\(\s*[1-9]/.test(text));
    expect(raw.map((f) => f.file)).toEqual([]);
  });
});
