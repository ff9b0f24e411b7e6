import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, FlowError } from '../errors/index.js';

/** Where installed environments are kept, shared by every project, run and replay on this machine. */
export function envCacheRoot(): string {
  return process.env.FLOW_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flowrun');
}

/** Written last into an installed environment: its absence means the install never finished. */
export const COMPLETE_MARKER = '.flowrun-complete';
const LOCK_WAIT_MS = 10 * 60_000;

export interface CachedInstall {
  /** Cache namespace, e.g. 'npm' or 'conda'. */
  kind: string;
  /** Hash of the lock the environment is installed from: the directory name. */
  hash: string;
  /** Fills `dir` (which exists and is empty) from the lock; throws on failure. */
  install: (dir: string) => Promise<void> | void;
  /** Checks that a complete environment is still intact (a corrupted one is reinstalled). */
  intact?: (dir: string) => boolean;
  info?: (line: string) => void;
  /** What is installed, for the progress line (default: "the <kind> environment <hash>"). */
  label?: string;
}

export interface InstallOutcome {
  dir: string;
  /** False when the environment was already in the cache. */
  installed: boolean;
}

/**
 * An environment installed once per lock hash into `<cache>/<kind>/<hash>` and reused by every
 * later run. A marker written last tells a complete install from an interrupted one, and an
 * intact-check catches a cache damaged since; both are reinstalled. A lock directory (holding
 * the installer's pid, so a crashed installer's lock is taken over) makes concurrent runs that
 * need the same environment install it once: the others wait and then reuse it.
 */
export async function cachedInstall(o: CachedInstall): Promise<InstallOutcome> {
  const root = join(envCacheRoot(), o.kind);
  const dir = join(root, o.hash);
  const ready = () => existsSync(join(dir, COMPLETE_MARKER)) && (o.intact?.(dir) ?? true);
  if (ready()) return { dir, installed: false };
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  await acquire(lock, o.hash);
  try {
    if (ready()) return { dir, installed: false };
    o.info?.(`installing ${o.label ?? `the ${o.kind} environment ${o.hash.slice(0, 12)}`} once into ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      await o.install(dir);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    writeFileSync(join(dir, COMPLETE_MARKER), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
    return { dir, installed: true };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Takes the lock directory, waiting while another live process holds it (the caller re-checks the cache after). */
async function acquire(lock: string, hash: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (holderDead(lock)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new FlowError('ENV_LOCKED', `Waited 10 minutes for another process installing the environment ${hash.slice(0, 12)}.`, {
        exitCode: ExitCode.remote,
        fix: `If no flowrun is running, remove ${lock}.`,
      });
    }
    await sleep(100);
  }
}

/** The lock's holder has exited (its pid file names a process that no longer exists). */
function holderDead(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
