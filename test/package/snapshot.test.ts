import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { listCodePackage } from '../../src/package/code-package.js';
import { snapshotProject, type ProjectSnapshot } from '../../src/runtime/snapshot.js';
import { LocalStore } from '../../src/store/local.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';

// What a run's snapshot (code package + dirty patch) leaves out: the store when it lives in the
// project, codePackage.exclude globs, credentials files (and a tracked one's changes), and
// names no archive can hold safely. Library-level: no CLI process except for the warning line.

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'ignore', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
}

function project(files: Record<string, string>, opts: { git?: boolean; rc?: unknown } = {}): string {
  const dir = tempDir();
  write(dir, { 'package.json': '{"name":"p","type":"module"}\n', 'flows/f.ts': 'export const x = 1;\n', ...files });
  if (opts.rc !== undefined) writeFileSync(join(dir, '.flowrc'), JSON.stringify(opts.rc));
  if (opts.git !== false) {
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'initial');
  }
  return dir;
}

async function snap(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ snapshot: ProjectSnapshot; store: LocalStore; files: string[]; patch: string }> {
  const config = loadConfig(dir, env, { warn: () => {} });
  const store = LocalStore.open(config.store);
  const snapshot = await snapshotProject(store, config);
  const files = listCodePackage(store.getObjectSync(snapshot.code.hash)).map((e) => e.path);
  const patch = snapshot.git?.patch ? store.getObjectSync(snapshot.git.patch).toString('utf8') : '';
  return { snapshot, store, files, patch };
}

describe('snapshot exclusions', () => {
  for (const withGit of [true, false]) {
    it(`a store inside the project is never packaged, so the package does not grow run over run (${withGit ? 'git repo' : 'no git'})`, async () => {
      const dir = project({}, { git: withGit, rc: { store: 'runs/store' } });
      const sizes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { snapshot, files } = await snap(dir);
        sizes.push(snapshot.code.bytes);
        expect(files.filter((f) => f.startsWith('runs/'))).toEqual([]);
        if (withGit) expect(snapshot.git?.dirty).toBe(false); // the store's files are not changes to the tree
      }
      expect(new Set(sizes).size).toBe(1);
    });
  }

  it('codePackage.exclude globs keep files out of the package and the dirty patch', async () => {
    const dir = project({ 'data/keep.md': 'tracked\n' }, { rc: { codePackage: { exclude: ['data/raw/**', '*.sqlite', 'logs/', '/top-only.txt'] } } });
    write(dir, {
      'data/raw/a.csv': 'raw-data-canary\n',
      'cache.sqlite': 'sqlite-canary',
      'nested/deep/x.sqlite': 'sqlite-canary-2',
      'logs/run.txt': 'log-canary\n',
      'top-only.txt': 'top-canary\n',
      'sub/top-only.txt': 'kept: the pattern is anchored\n',
      'notes.md': 'kept\n',
    });
    const { files, patch, snapshot } = await snap(dir);
    expect(files).toEqual(expect.arrayContaining(['notes.md', 'sub/top-only.txt', 'data/keep.md', 'flows/f.ts']));
    for (const f of ['data/raw/a.csv', 'cache.sqlite', 'nested/deep/x.sqlite', 'logs/run.txt', 'top-only.txt']) expect(files).not.toContain(f);
    expect(snapshot.git?.dirty).toBe(true);
    expect(patch).toContain('notes.md');
    expect(patch).not.toMatch(/canary/);
  });

  it("credentials files stay out of the package and the patch; a tracked one's uncommitted changes never enter the patch", async () => {
    const dir = project({ '.npmrc': 'registry=https://registry.example.com/\n', 'tls/server.key': 'committed-key\n' });
    write(dir, {
      '.npmrc': 'registry=https://registry.example.com/\n//registry.example.com/:_authToken=npm_TRACKED_CANARY\n',
      'tls/server.key': 'changed-key-TRACKED_CANARY\n',
      '.envrc': 'export TOKEN=UNTRACKED_CANARY_1\n',
      'prod.env': 'A=UNTRACKED_CANARY_2\n',
      '.ENV': 'A=UNTRACKED_CANARY_3\n',
      'credentials.json': '{"token":"UNTRACKED_CANARY_4"}',
      '.ssh/id_ed25519': 'UNTRACKED_CANARY_5',
      '.docker/config.json': '{"auths":{"x":{"auth":"UNTRACKED_CANARY_6"}}}',
      '.vault-token': 'UNTRACKED_CANARY_7',
      '.pypirc': 'password = UNTRACKED_CANARY_8',
      '.kube/config': 'token: UNTRACKED_CANARY_9',
      'gcp/key-3f2a.json': JSON.stringify({ type: 'service_account', private_key_id: 'k', private_key: '-----BEGIN PRIVATE KEY-----\nUNTRACKED_CANARY_10\n-----END PRIVATE KEY-----\n' }),
      '.yarnrc.yml': 'npmAuthToken: UNTRACKED_CANARY_11\n',
      'flows/f.ts': 'export const x = 2; // a real change\n',
    });
    const { files, patch, snapshot } = await snap(dir);
    expect(snapshot.git?.dirty).toBe(true);
    expect(patch).toContain('flows/f.ts');
    expect(patch).not.toMatch(/CANARY/);
    for (const f of ['.npmrc', 'tls/server.key', '.envrc', 'prod.env', '.ENV', 'credentials.json', '.ssh/id_ed25519', '.docker/config.json', '.vault-token', '.pypirc', '.kube/config', 'gcp/key-3f2a.json', '.yarnrc.yml']) {
      expect(files, f).not.toContain(f);
    }
    expect(snapshot.warnings.join('\n')).toMatch(/not packaged, they look like secrets files: .*\.npmrc/);
  });

  it('a file name with a backslash does not block the run: it is left out, with a warning', async () => {
    const dir = project({});
    write(dir, { 'odd\\name.txt': 'x\n', 'fine.txt': 'y\n' });
    const { files, snapshot, patch } = await snap(dir);
    expect(files).toContain('fine.txt');
    expect(files).not.toContain('odd\\name.txt');
    expect(snapshot.warnings.join('\n')).toMatch(/backslash.*odd\\name\.txt/);
    expect(patch).toContain('odd\\\\name.txt'); // the patch records it (git quotes the name)
  });

  it('flow run ignores a .flowrc above the project root with one warning line, and packages only the project', async () => {
    const outer = tempDir();
    writeFileSync(join(outer, '.flowrc'), JSON.stringify({ maxWorkers: 3 }));
    writeFileSync(join(outer, 'outside-secret.txt'), 'not part of the project\n');
    const inner = await tempProject();
    const dir = join(outer, 'proj');
    execFileSync('cp', ['-a', inner, dir]);
    copyFlow(dir, 'linear.ts');
    const r = await flow(['run', 'flows/linear.ts'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: ignoring'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(outer, '.flowrc'));
    const code = await flow(['code', 'run-1'], { cwd: dir });
    expect(code.stdout).toContain('flows/linear.ts');
    expect(code.stdout).not.toContain('outside-secret.txt');
    expect(code.stdout).not.toContain('proj/');
  }, 60_000);
});
