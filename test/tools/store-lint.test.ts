import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

/** dependency-cruiser over `files` with the repository's rules (what `npm run lint` runs). */
function lint(...files: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), ...files, '--config', '.dependency-cruiser.cjs', '--no-progress'], { cwd: REPO, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('lint rule store-opened-not-named', () => {
  it('fails a module outside src/store/ that imports store/local.ts, and passes the store-opening module that does too', () => {
    // One run over both (dependency-cruiser's start-up is most of its cost).
    const { status, out } = lint('test/fixtures/store-lint/names-local-store.ts', 'src/store/open.ts');
    expect(status, out).not.toBe(0);
    expect(out).toContain('error store-opened-not-named: test/fixtures/store-lint/names-local-store.ts → src/store/local.ts');
    expect(out).toContain('1 dependency violations');
  });
});
