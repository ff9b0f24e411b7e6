import { arch, platform } from 'node:os';
import { ExitCode, FlowError } from '../../errors/index.js';
import type { LockedPackage } from '../npm.js';

/** What `@conda` / `@condaBase` ask for. */
export interface CondaSpec {
  packages: Record<string, string>;
  python?: string;
  channels?: string[];
}

/** One package of a conda lock: enough to fetch and verify it anywhere. */
export interface CondaLockEntry {
  name: string;
  version: string;
  build: string;
  url: string;
  sha256: string;
}

/**
 * The lock of a conda environment: the explicit package list (URL + sha256) for the one
 * platform (conda subdir) it was solved for. It is installed only on that platform.
 */
export interface CondaLock {
  schema: 'flowrun.conda-lock/1';
  platform: string;
  packages: CondaLockEntry[];
}

export const DEFAULT_CHANNELS = ['conda-forge'];

/** The conda subdir of this machine (linux-64, osx-arm64, ...). */
export function condaPlatform(): string {
  const os = platform() === 'darwin' ? 'osx' : platform() === 'win32' ? 'win' : 'linux';
  const cpu = arch() === 'x64' ? '64' : arch() === 'arm64' ? (os === 'linux' ? 'aarch64' : 'arm64') : arch();
  return `${os}-${cpu}`;
}

export function describeCondaSpec(spec: CondaSpec): string {
  const pk = Object.entries(spec.packages)
    .map(([n, r]) => `'${n}': '${r}'`)
    .join(', ');
  return `@conda({ packages: { ${pk} }${spec.python ? `, python: '${spec.python}'` : ''}${spec.channels ? `, channels: [${spec.channels.map((c) => `'${c}'`).join(', ')}]` : ''} })`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads a lock, checking its shape: a lock is data from the store and is not trusted blindly. */
export function parseCondaLock(lock: Buffer, where = 'the conda lock'): CondaLock {
  let parsed: unknown;
  try {
    parsed = JSON.parse(lock.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const l = parsed as Partial<CondaLock> | undefined;
  const ok =
    l &&
    l.schema === 'flowrun.conda-lock/1' &&
    typeof l.platform === 'string' &&
    Array.isArray(l.packages) &&
    l.packages.every((p) => p && typeof p.name === 'string' && typeof p.version === 'string' && typeof p.build === 'string' && typeof p.url === 'string' && /^https?:\/\//.test(p.url) && typeof p.sha256 === 'string' && HEX64.test(p.sha256));
  if (!ok) {
    throw new FlowError('ENV_LOCK_INVALID', `${where} is not a flowrun conda lock (schema flowrun.conda-lock/1 with name, version, build, http(s) url and sha256 per package).`, {
      exitCode: ExitCode.storeIntegrity,
      fix: 'Run flow fsck; resolve the environment again with --refresh-envs if the lock was edited by hand.',
    });
  }
  return l as CondaLock;
}

export function condaLockedPackages(lock: Buffer): LockedPackage[] {
  return parseCondaLock(lock).packages.map((p) => ({ path: p.name, name: p.name, version: p.version }));
}

/** `name-version-build`: the name of a package's conda-meta record and how conda prints it. */
export const dist = (p: { name: string; version: string; build: string }): string => `${p.name}-${p.version}-${p.build}`;

/** The archive's file name, the last segment of its URL. */
export const archiveName = (p: CondaLockEntry): string => decodeURIComponent(p.url.slice(p.url.lastIndexOf('/') + 1));
