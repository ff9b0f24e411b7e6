import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, median, ms, timeProcess, type Section } from '../util.js';
import { captureGit, listProjectFiles, type GitImpl } from '../../src/git/git.js';

/** git for building the fixture, isolated from the user's config and from any GIT_DIR of a hook. */
function sh(cwd: string, ...args: string[]): void {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
  execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', '-c', 'init.defaultBranch=main', ...args], { cwd, env, stdio: 'ignore' });
}

/** ~5.5 KB of TypeScript-looking text, like ECOSYSTEM §6's 11 MB / 2,000 files. */
function source(d: number, f: number): string {
  const lines = [`// module ${d}/${f}`, `import { helper } from '../d${(d + 1) % 40}/f${f}.js';`];
  for (let i = 0; i < 120; i++) lines.push(`export const v${i} = helper(${d * 1000 + f * 10 + i}, 'value ${i} of ${d}/${f}');`);
  return `${lines.join('\n')}\n`;
}

/** A 2,000-file repo (40 dirs × 50 files), one commit, then 20 modified, 5 untracked, 5 deleted. */
function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-bench-git-'));
  for (let d = 0; d < 40; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let f = 0; f < 50; f++) writeFileSync(join(dir, `d${d}`, `f${f}.ts`), source(d, f));
  }
  sh(dir, 'init', '-q');
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-qm', 'fixture');
  for (let i = 0; i < 20; i++) {
    const p = join(dir, `d${i}`, 'f1.ts');
    writeFileSync(p, `${readFileSync(p, 'utf8').replace('export const v60 =', 'export const v60changed =')}// edited\n`);
  }
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `d${i}`, `new${i}.ts`), source(100 + i, i));
  for (let i = 0; i < 5; i++) rmSync(join(dir, `d${30 + i}`, 'f2.ts'));
  return dir;
}

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<{ median: number; min: number; max: number }> {
  await fn(); // warm-up: first-call module loads and OS page cache
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

/** Git binding (issue 5): captureGit is on every run's critical path; target ≤ 100 ms on 2,000 files. */
export async function git(): Promise<Section[]> {
  const dir = fixture();
  try {
    const byImpl = async (impl: GitImpl, n: number) => timeIt(n, () => captureGit(dir, { impl }));
    const cli = await byImpl('cli', 15);
    const iso = await byImpl('isomorphic', 5);
    const list = await timeIt(15, () => listProjectFiles(dir, { impl: 'cli' }));
    const listIso = await timeIt(5, () => listProjectFiles(dir, { impl: 'isomorphic' }));
    const state = (await captureGit(dir, { impl: 'cli' }))!;
    const files = await listProjectFiles(dir);

    // A fresh process pays for loading the module too, as every `flow run` does.
    const mod = join(REPO, 'dist', 'src', 'git', 'git.js');
    const script = (impl: GitImpl) => `const m = await import(${JSON.stringify(mod)}); await m.captureGit(${JSON.stringify(dir)}, { impl: '${impl}' });`;
    const node0 = timeProcess(process.execPath, ['-e', '0'], dir, 5);
    const procCli = timeProcess(process.execPath, ['--input-type=module', '-e', script('cli')], dir, 7);
    const procIso = timeProcess(process.execPath, ['--input-type=module', '-e', script('isomorphic')], dir, 3);
    const execaLoad = timeProcess(process.execPath, ['--input-type=module', '-e', "await import('execa')"], REPO, 5);

    return [
      {
        title: 'Git binding: captureGit / listProjectFiles on a 2,000-file repo',
        command: '40 dirs × 50 files (~11 MB), one commit, then 20 modified + 5 untracked + 5 deleted; in-process median after a warm-up (cli n=15, isomorphic n=5); whole-process = `node -e` importing dist/src/git/git.js and capturing once, median of 7 (isomorphic: 3)',
        rows: [
          { name: 'captureGit, git CLI (in process)', value: ms(cli.median), note: `min ${ms(cli.min)}, max ${ms(cli.max)}; target ≤ 100 ms; patch ${((state.patch?.length ?? 0) / 1024) | 0} KiB` },
          { name: 'captureGit, isomorphic-git (in process)', value: ms(iso.median), note: `min ${ms(iso.min)}, max ${ms(iso.max)}; fallback when git is absent` },
          { name: 'listProjectFiles, git CLI', value: ms(list.median), note: `${files.length} files; min ${ms(list.min)}, max ${ms(list.max)}` },
          { name: 'listProjectFiles, isomorphic-git', value: ms(listIso.median) },
          { name: 'whole process: node + import + captureGit (cli)', value: ms(procCli.median), note: `\`node -e 0\` floor ${ms(node0.median)}` },
          { name: 'whole process: node + import + captureGit (isomorphic)', value: ms(procIso.median) },
          { name: "whole process: `import('execa')` alone", value: ms(execaLoad.median), note: 'why the binding spawns git with node:child_process' },
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
