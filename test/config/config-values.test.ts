import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isFlowError } from '../../src/errors/index.js';
import { tempDir } from '../helpers/cli.js';

// The .flowrc value checks as valibot schemas (src/config/config-schema.ts): every type's
// problems give CONFIG_INVALID with the same message, key and fix as the hand-written checks did.
function project(rc: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'package.json'), '{}');
  writeFileSync(join(dir, '.flowrc'), JSON.stringify(rc));
  return dir;
}

function problem(rc: unknown, env: NodeJS.ProcessEnv = {}): string {
  const dir = project(rc);
  try {
    loadConfig(dir, env, { warn: () => {} });
  } catch (e) {
    if (!isFlowError(e)) throw e;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.exitCode).toBe(2);
    return `${e.message.replace(`${dir}/.flowrc: `, '')} | ${e.location.key} | ${e.fix}`;
  }
  return 'valid';
}

describe('.flowrc values', () => {
  const cases: Array<[unknown, string]> = [
    [{ store: '' }, "'store' must be a non-empty string. | store | Set 'store' to store location: a directory relative to the .flowrc (default .flow at the project root), never one holding the project or a system folder, or s3://bucket/prefix."],
    [{ store: 5 }, "'store' must be a non-empty string."],
    [{ mirror: { endpoint: 1 } }, "'mirror.endpoint' must be a string or null. | mirror.endpoint | Set 'mirror.endpoint' to S3-compatible endpoint URL (default: AWS)."],
    [{ mirror: { endpoint: null } }, 'valid'],
    [{ mirror: { autoPush: 'yes' } }, "'mirror.autoPush' must be true or false."],
    [{ maxWorkers: '4' }, "'maxWorkers' must be a whole number."],
    [{ maxWorkers: 0 }, "'maxWorkers' must be at least 1."],
    [{ maxWorkers: 1025 }, "'maxWorkers' must be at most 1024."],
    [{ maxWorkers: 2 ** 53 }, "'maxWorkers' must be a whole number."],
    [{ batch: { logEverySeconds: -1 } }, "'batch.logEverySeconds' must be at least 0."],
    [{ batch: { runnableTimeoutSeconds: 10 ** 12 } }, 'valid'],
    [{ codePackage: { exclude: 'data/**' } }, "'codePackage.exclude' must be a list of non-empty strings."],
    [{ codePackage: { exclude: ['a', ''] } }, "'codePackage.exclude' must be a list of non-empty strings."],
    [{ codePackage: { exclude: Array.from({ length: 1001 }, (_, i) => `f${i}`) } }, "'codePackage.exclude' must have at most 1000 entries."],
    [{ codePackage: { exclude: Array.from({ length: 1001 }, () => 1) } }, "'codePackage.exclude' must be a list of non-empty strings."],
    [{ mirror: [] }, "'mirror' must be an object. | mirror | Set 'mirror' to S3 mirror of the store."],
    [{ cache: null }, "'cache' must be an object."],
    [{ cache: { default: true }, maxWorkers: 3, '//': 'a comment' }, 'valid'],
    [{ maxWorkers: 'x', store: 1 }, "'maxWorkers' must be a whole number."],
  ];
  for (const [rc, want] of cases) {
    it(`${JSON.stringify(rc).slice(0, 80)}: ${want.split(' | ')[0]}`, () => {
      const got = problem(rc);
      expect(want.includes(' | ') ? got : got.split(' | ')[0]).toBe(want);
    });
  }

  it('an environment variable gets the same problem as the .flowrc value', () => {
    expect(problem({}, { FLOW_MAX_WORKERS: '0' })).toBe('Environment variable FLOW_MAX_WORKERS="0" is not valid for \'maxWorkers\' (must be at least 1). | maxWorkers | Set FLOW_MAX_WORKERS to tasks run at once, 1 to 1024 (default: number of cores), or unset it.');
    expect(problem({}, { FLOW_CODE_PACKAGE_EXCLUDE: '["a", 1]' }).split(' | ')[0]).toBe('Environment variable FLOW_CODE_PACKAGE_EXCLUDE="[\\"a\\", 1]" is not valid for \'codePackage.exclude\' (must be a list of non-empty strings).');
    expect(problem({}, { FLOW_MIRROR_AUTO_PUSH: 'maybe' }).split(' | ')[0]).toBe('Environment variable FLOW_MIRROR_AUTO_PUSH="maybe" is not valid for \'mirror.autoPush\' (is not valid).');
  });
});
