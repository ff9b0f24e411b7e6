import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cachedInstall } from './cache.js';
import { ExitCode, FlowError } from '../errors/index.js';
import { lockInstaller } from './lock-installers.js';

/**
/**
 * The node_modules of a recorded lock (package-lock.json, pnpm-lock.yaml or yarn.lock),
 * installed once per lock hash from the code package (which holds package.json, the lock and
 * any file: dependencies) with the lock's own tool into the environment cache (marker written
 * last, lock directory: see cachedInstall), and reused by every later replay.
 */
export async function lockedDependencies(packageDir: string, lockHash: string, info: (line: string) => void, lockName = 'package-lock.json'): Promise<string> {
  const installer = lockInstaller(lockName);
  const { dir } = await cachedInstall({
    kind: installer.tool,
    hash: lockHash,
    info,
    label: `the recorded dependencies (lock ${lockHash.slice(0, 12)})`,
    install: (envDir) => {
      const r = spawnSync(installer.command, installer.args, { cwd: packageDir, encoding: 'utf8' });
      if (r.status !== 0) {
        throw new FlowError('ENV_INSTALL_FAILED', `${installer.tool} install of the recorded ${lockName} (${lockHash.slice(0, 12)}) failed:\n${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-8).join('\n')}`, {
          exitCode: ExitCode.remote,
          fix: 'Check that the packages in the lock can be fetched (registry reachable, or an npm cache that holds them).',
        });
      }
      cpSync(join(packageDir, 'node_modules'), join(envDir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      rmSync(join(packageDir, 'node_modules'), { recursive: true, force: true });
    },
  });
  return join(dir, 'node_modules');
}

/** Links every package of `modules` into `dir`/node_modules (its own directory, so caches never land in the source). */
export function linkModules(modules: string, dir: string): void {
  let names: string[];
  try {
    names = readdirSync(modules);
  } catch {
    return;
  }
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const name of names) {
    if (name === '.cache' || name === '.bin' || name === '.package-lock.json') continue;
    symlinkSync(join(modules, name), join(dir, 'node_modules', name));
  }
}
