import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';
import { onTestFinished } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'run.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real, built `flow` CLI in a child process. */
export async function flow(args: string[], options: Options & { cwd: string }): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    ...options,
    env: { FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A temp directory removed after the current test (or kept with FLOW_KEEP_TMP=1). */
export function tempDir(prefix = 'flowrun-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!process.env.FLOW_KEEP_TMP) {
    try {
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    } catch {
      /* outside a test */
    }
  }
  return dir;
}

/**
 * A project as a user has it: a git repo with package.json and flowrun resolvable from
 * node_modules (a symlink to this checkout), plus the given files.
 */
export async function tempProject(files: Record<string, string> = {}, opts: { git?: boolean } = {}): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'test-project', private: true, type: 'module' }, null, 2));
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO, join(dir, 'node_modules', 'flowrun'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  if (opts.git !== false) {
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.flow/\n');
    await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    await execa('git', ['add', '-A'], { cwd: dir });
    // A fixed date: two projects made from the same files get the same commit, whenever made.
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'initial'], { cwd: dir, env: { GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' } });
  }
  return dir;
}

/** Copies flows from test/flows into a project. */
export function copyFlow(project: string, name: string, as = `flows/${name}`): string {
  mkdirSync(dirname(join(project, as)), { recursive: true });
  cpSync(join(REPO, 'test', 'flows', name), join(project, as));
  return as;
}
