import { chownSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, localStoreDir } from '../../src/config/config.js';
import { isFlowError } from '../../src/errors/index.js';
import { REPO, tempDir } from '../helpers/cli.js';

/** The error loadConfig throws (fails the test when it does not throw). */
function configError(dir: string, env: NodeJS.ProcessEnv = {}): { code: string; message: string; key?: string; exitCode: number } {
  try {
    loadConfig(dir, env, { warn: () => {} });
  } catch (e) {
    if (!isFlowError(e)) throw e;
    return { code: e.code, message: e.message, key: e.location.key, exitCode: e.exitCode };
  }
  throw new Error(`loadConfig(${dir}) did not throw`);
}

/** A project folder (package.json) with an optional .flowrc. */
function project(rc?: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'package.json'), '{}');
  if (rc !== undefined) writeFileSync(join(dir, '.flowrc'), typeof rc === 'string' ? rc : JSON.stringify(rc));
  return dir;
}

describe('loadConfig', () => {
  it('accepts .flowrc.example as shipped', () => {
    const dir = tempDir();
    copyFileSync(join(REPO, '.flowrc.example'), join(dir, '.flowrc'));
    const c = loadConfig(dir, {});
    expect(c.store).toBe(join(dir, '.flow'));
    expect(c.maxWorkers).toBe(4);
    expect(c.mirror).toMatchObject({ url: 's3://my-bucket/flowrun', endpoint: null, autoPush: true });
    expect(c.batch).toMatchObject({ queue: 'flow-queue', image: 'node:20' });
    expect(c.codePackage?.exclude).toEqual([]);
  });

  it('is found by walking up from the flow directory, and env overrides it', () => {
    const dir = project({ store: 'runs', maxWorkers: 3, mirror: { url: 's3://a/b' } });
    mkdirSync(join(dir, 'flows', 'deep'), { recursive: true });
    const c = loadConfig(join(dir, 'flows', 'deep'), { FLOW_MAX_WORKERS: '7', FLOW_S3_ENDPOINT: 'http://127.0.0.1:9000', FLOW_MIRROR_AUTO_PUSH: 'false' });
    expect(c.projectRoot).toBe(dir);
    expect(c.store).toBe(join(dir, 'runs'));
    expect(c.maxWorkers).toBe(7);
    expect(c.mirror).toEqual({ url: 's3://a/b', endpoint: 'http://127.0.0.1:9000', autoPush: false });
  });

  it('defaults the store to .flow at the package root and keeps s3:// stores as URLs', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), '{}');
    mkdirSync(join(dir, 'flows'));
    expect(loadConfig(join(dir, 'flows'), {}).store).toBe(join(dir, '.flow'));
    expect(loadConfig(join(dir, 'flows'), { FLOW_STORE: 's3://bucket/prefix' }).store).toBe('s3://bucket/prefix');
  });

  it('names the key path of an unknown nested key', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.flowrc'), JSON.stringify({ batch: { queu: 'q' } }));
    expect(() => loadConfig(dir, {})).toThrow(/unknown key 'batch\.queu'/);
  });

  it('treats __proto__, constructor and other Object.prototype names as unknown keys', () => {
    for (const rc of ['{"__proto__": {"store": "x"}}', '{"constructor": 1}', '{"toString": "a"}', '{"hasOwnProperty": true}', '{"mirror": {"constructor": "x"}}', '{"batch": {"__proto__": {}}}']) {
      const e = configError(project(rc));
      expect(e.code, rc).toBe('CONFIG_INVALID');
      expect(e.message, rc).toMatch(/unknown key '(mirror\.|batch\.)?(__proto__|constructor|toString|hasOwnProperty)'/);
      expect(e.exitCode).toBe(2);
    }
  });

  it('applies the same limits to .flowrc values and environment variables', () => {
    for (const [value, problem] of [
      [0, 'must be at least 1'],
      [5000, 'must be at most 1024'],
      [1e20, 'must be a whole number'],
      [2.5, 'must be a whole number'],
    ] as const) {
      const fromFile = configError(project({ maxWorkers: value }));
      const fromEnv = configError(project(), { FLOW_MAX_WORKERS: BigInt(Math.trunc(value)).toString() + (Number.isInteger(value) ? '' : '.5') });
      expect(fromFile.message, `.flowrc maxWorkers ${value}`).toContain(problem);
      expect(fromEnv.message, `FLOW_MAX_WORKERS=${value}`).toMatch(value === 2.5 ? /not a whole number/ : new RegExp(problem));
      expect([fromFile.key, fromEnv.key]).toEqual(['maxWorkers', 'maxWorkers']);
    }
    expect(loadConfig(project({ maxWorkers: 1024 }), {}).maxWorkers).toBe(1024);
    expect(loadConfig(project(), { FLOW_MAX_WORKERS: '1024' }).maxWorkers).toBe(1024);
  });

  it('reads codePackage.exclude from .flowrc and FLOW_CODE_PACKAGE_EXCLUDE', () => {
    expect(loadConfig(project({ codePackage: { exclude: ['data/**', '*.sqlite'] } }), {}).codePackage?.exclude).toEqual(['data/**', '*.sqlite']);
    expect(loadConfig(project(), { FLOW_CODE_PACKAGE_EXCLUDE: 'data/**, *.sqlite' }).codePackage?.exclude).toEqual(['data/**', '*.sqlite']);
    expect(loadConfig(project(), { FLOW_CODE_PACKAGE_EXCLUDE: '["{a,b}/**"]' }).codePackage?.exclude).toEqual(['{a,b}/**']);
    expect(configError(project({ codePackage: { exclude: 'data/**' } })).message).toMatch(/'codePackage\.exclude' must be a list of non-empty strings/);
    expect(configError(project({ codePackage: { exclude: [''] } })).key).toBe('codePackage.exclude');
  });

  it('an unsupported store URL is echoed without the credentials embedded in it', () => {
    const c = loadConfig(project(), { FLOW_STORE: 'https://AKIAX:s3cr3t/pw#x@host:9000/bucket?X-Amz-Signature=sig123' });
    expect(() => localStoreDir(c)).toThrow(/store \(FLOW_STORE\) is "https:\/\/\*\*\*@host:9000\/bucket\?…"/);
    try {
      localStoreDir(c);
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/s3cr3t|AKIAX|sig123/);
    }
  });
});

describe('project root discovery', () => {
  it('ignores a .flowrc above the project root, with one warning line', () => {
    const outer = tempDir();
    writeFileSync(join(outer, '.flowrc'), JSON.stringify({ store: '/', maxWorkers: 9 }));
    const dir = join(outer, 'work', 'proj');
    mkdirSync(join(dir, 'flows'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{}');
    const warnings: string[] = [];
    const c = loadConfig(join(dir, 'flows'), {}, { warn: (l) => warnings.push(l) });
    expect(c.projectRoot).toBe(dir);
    expect(c.file).toBeUndefined();
    expect(c.store).toBe(join(dir, '.flow'));
    expect(c.maxWorkers).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(outer, '.flowrc'));
    expect(warnings[0]).not.toContain('\n');
  });

  it('a .git folder marks the root as well as package.json; with neither, the start folder is the root', () => {
    const outer = tempDir();
    writeFileSync(join(outer, '.flowrc'), JSON.stringify({ maxWorkers: 9 }));
    const repo = join(outer, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'src'));
    expect(loadConfig(join(repo, 'src'), {}, { warn: () => {} }).projectRoot).toBe(repo);
    const loose = join(outer, 'loose');
    mkdirSync(loose);
    const warnings: string[] = [];
    const c = loadConfig(loose, {}, { warn: (l) => warnings.push(l) });
    expect(c.projectRoot).toBe(loose);
    expect(c.maxWorkers).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });

  it('a .flowrc in a sub-folder applies, but the project root stays where package.json is', () => {
    const dir = project();
    mkdirSync(join(dir, 'flows'));
    writeFileSync(join(dir, 'flows', '.flowrc'), JSON.stringify({ maxWorkers: 2, store: '../runs' }));
    const c = loadConfig(join(dir, 'flows'), {});
    expect(c.file).toBe(join(dir, 'flows', '.flowrc'));
    expect(c.maxWorkers).toBe(2);
    expect(c.projectRoot).toBe(dir);
    expect(c.store).toBe(join(dir, 'runs')); // relative to the .flowrc
  });

  it('refuses a .flowrc owned by another user, unless FLOW_SAFE_DIRECTORIES trusts its folder', () => {
    if (typeof process.getuid !== 'function') return; // no POSIX owners (Windows)
    const dir = project({ maxWorkers: 3 });
    // Root-owned (or our own) files are accepted.
    expect(loadConfig(dir, {}).maxWorkers).toBe(3);
    if (process.getuid() !== 0) throw new Error('this test chowns a file to another uid and must run as root');
    chownSync(join(dir, '.flowrc'), 12345, 12345);
    const e = configError(dir);
    expect(e.code).toBe('CONFIG_NOT_OWNED');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(join(dir, '.flowrc'));
    expect(e.message).toContain('uid 12345');
    expect(loadConfig(dir, { FLOW_SAFE_DIRECTORIES: `/nowhere:${dir}` }).maxWorkers).toBe(3);
    expect(loadConfig(dir, { FLOW_SAFE_DIRECTORIES: '*' }).maxWorkers).toBe(3);
    expect(configError(dir, { FLOW_SAFE_DIRECTORIES: '/nowhere' }).code).toBe('CONFIG_NOT_OWNED');
  });

  it('refuses a store that contains the project or is a system folder', () => {
    const cases: Array<[unknown, NodeJS.ProcessEnv]> = [
      [{ store: '/' }, {}],
      [{ store: '.' }, {}],
      [{ store: '..' }, {}],
      [{ store: 'up' }, {}],
      [{ store: '/usr' }, {}],
      [{ store: '/etc' }, {}],
      [undefined, { FLOW_STORE: '/' }],
      [undefined, { FLOW_STORE: '/tmp' }],
      [undefined, { FLOW_STORE: process.env.HOME ?? '/root' }],
      [undefined, { FLOW_STORE: '.' }],
      [undefined, { FLOW_STORE: '..' }],
    ];
    for (const [rc, env] of cases) {
      const d = project(rc);
      if (rc && (rc as { store: string }).store === 'up') symlinkSync('..', join(d, 'up'));
      const e = configError(d, env);
      expect(e.code, JSON.stringify([rc, env])).toBe('CONFIG_INVALID');
      expect(e.key).toBe('store');
    }
    // A store of its own, inside or outside the project, is fine.
    expect(loadConfig(project({ store: 'runs/store' }), {}).store).toMatch(/runs\/store$/);
    const elsewhere = tempDir();
    expect(loadConfig(project(), { FLOW_STORE: join(elsewhere, 'store') }).store).toBe(join(elsewhere, 'store'));
  });
});
