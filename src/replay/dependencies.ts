import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { lockInstaller } from './lock-installers.js';

/** Where installed environments are kept, shared by every project and replay on this machine. */
export function envCacheRoot(): string {
  return process.env.FLOW_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flowrun');
}

const COMPLETE = '.flowrun-complete';
const LOCK_WAIT_MS = 10 * 60_000;

/**
 * The node_modules of a recorded lock (package-lock.json, pnpm-lock.yaml or yarn.lock),
 * installed once per lock hash from the code package (which holds package.json, the lock and
 * any file: dependencies) with the lock's own tool, and reused by every later replay. A marker
 * written last tells a complete install from an interrupted one; a lock directory makes
 * concurrent replays install it once.
 */
export function lockedDependencies(packageDir: string, lockHash: string, info: (line: string) => void, lockName = 'package-lock.json'): string {
  const installer = lockInstaller(lockName);
  const envDir = join(envCacheRoot(), installer.tool, lockHash);
  const modules = join(envDir, 'node_modules');
  if (existsSync(join(envDir, COMPLETE))) return modules;
  mkdirSync(join(envCacheRoot(), installer.tool), { recursive: true });
  const lock = `${envDir}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try { mkdirSync(lock); break; } catch { /* another process is installing it */ }
    if (existsSync(join(envDir, COMPLETE))) return modules;
    if (Date.now() > deadline) throw new FlowError('ENV_LOCKED', `Waited 10 minutes for another process installing the environment ${lockHash.slice(0, 12)}.`, { exitCode: ExitCode.remote, fix: `If no flowrun is running, remove ${lock}.` });
    spawnSync('sleep', ['0.2']);
  }
  try {
    if (existsSync(join(envDir, COMPLETE))) return modules;
    info(`installing the recorded dependencies (lock ${lockHash.slice(0, 12)}) once into ${envDir}`);
    rmSync(envDir, { recursive: true, force: true });
    const r = spawnSync(installer.command, installer.args, { cwd: packageDir, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new FlowError('ENV_INSTALL_FAILED', `${installer.tool} install of the recorded ${lockName} (${lockHash.slice(0, 12)}) failed:\n${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-8).join('\n')}`, {
        exitCode: ExitCode.remote, fix: 'Check that the packages in the lock can be fetched (registry reachable, or an npm cache that holds them).',
      });
    }
    mkdirSync(envDir, { recursive: true });
    cpSync(join(packageDir, 'node_modules'), modules, { recursive: true, verbatimSymlinks: true });
    rmSync(join(packageDir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(join(envDir, COMPLETE), new Date().toISOString());
    return modules;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Links every package of `modules` into `dir`/node_modules (its own directory, so caches never land in the source). */
export function linkModules(modules: string, dir: string): void {
  let names: string[];
  try { names = readdirSync(modules); } catch { return; }
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const name of names) {
    if (name === '.cache' || name === '.bin' || name === '.package-lock.json') continue;
    symlinkSync(join(modules, name), join(dir, 'node_modules', name));
  }
}
