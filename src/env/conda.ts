import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { sha256 } from '../util/hash.js';
import { cachedInstall, envCacheRoot, type InstallOutcome } from './cache.js';
import { extractCondaPackage } from './extract.js';
import type { LockedPackage } from './npm.js';

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

/** The lock of a conda environment: the explicit package list (URL + sha256) for one platform. */
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
  const pk = Object.entries(spec.packages).map(([n, r]) => `'${n}': '${r}'`).join(', ');
  return `@conda({ packages: { ${pk} }${spec.python ? `, python: '${spec.python}'` : ''}${spec.channels ? `, channels: [${spec.channels.map((c) => `'${c}'`).join(', ')}]` : ''} })`;
}

/** Match specs for the solver: `name spec` per package, plus python when asked for. */
export function matchSpecs(spec: CondaSpec): string[] {
  const out = Object.entries(spec.packages).map(([name, range]) => (range.trim() === '' || range.trim() === '*' ? name : `${name} ${range.trim()}`));
  if (spec.python) out.push(`python ${spec.python}`);
  return out;
}

/**
 * Solves a spec with rattler (the conda solver compiled to WASM) against the channels' repodata
 * and returns the lock as canonical JSON. A solve is kept in the machine's cache keyed by spec,
 * channels and platform, so later runs reuse it; `refresh` solves again.
 */
export async function resolveCondaLock(spec: CondaSpec, o: { steps: string[]; refresh?: boolean }): Promise<{ lock: Buffer; cached: boolean }> {
  const channels = spec.channels ?? DEFAULT_CHANNELS;
  const subdir = condaPlatform();
  const key = sha256(Buffer.from(JSON.stringify({ specs: matchSpecs(spec), channels, subdir })));
  const entry = join(envCacheRoot(), 'conda-resolved', `${key}.json`);
  if (!o.refresh) {
    try { return { lock: readFileSync(entry), cached: true }; } catch { /* not solved yet */ }
  }
  const { simpleSolve } = await import('@conda-org/rattler');
  let solved;
  try {
    solved = await simpleSolve(matchSpecs(spec), channels, [subdir as never, 'noarch' as never], []);
  } catch (e) {
    throw await solveFailure(String(e instanceof Error ? e.message : e), spec, channels, o.steps);
  }
  const packages = solved.map((p): CondaLockEntry => {
    if (!p.sha256) throw new FlowError('ENV_RESOLVE_FAILED', `The channel gives no sha256 for ${p.url}, so ${describeCondaSpec(spec)} of step ${o.steps.join(', ')} cannot be locked.`, { exitCode: ExitCode.remote, step: o.steps[0], fix: 'Use a channel whose repodata lists sha256 for every package.' });
    return { name: p.packageName, version: String(p.version), build: p.build, url: p.url, sha256: p.sha256 };
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lock = Buffer.from(`${JSON.stringify({ schema: 'flowrun.conda-lock/1', platform: subdir, packages } satisfies CondaLock, null, 2)}\n`);
  writeFileAtomic(entry, lock);
  return { lock, cached: false };
}

async function solveFailure(message: string, spec: CondaSpec, channels: string[], steps: string[]): Promise<FlowError> {
  const where = `${steps.length === 1 ? 'step' : 'steps'} ${steps.join(', ')}`;
  if (/sending request|connect|dns|timed out/i.test(message)) {
    const url = (await firstUnreachable(channels)) ?? channels.join(', ');
    return new FlowError('ENV_CHANNEL_UNREACHABLE', `The conda channel ${url} cannot be reached while solving ${describeCondaSpec(spec)} for ${where} (${message.trim()}).`, {
      exitCode: ExitCode.remote, step: steps[0], fix: 'Check the network and the channel URL; an environment already in the cache needs no channel.', data: { url, steps },
    });
  }
  return new FlowError('ENV_RESOLVE_FAILED', `${describeCondaSpec(spec)} of ${where} cannot be solved; the solver says:\n${message.trim()}`, {
    exitCode: ExitCode.remote, step: steps[0], fix: 'Check the package names and match specs against the channel (e.g. hello 1.*).', data: { steps },
  });
}

async function firstUnreachable(channels: string[]): Promise<string | undefined> {
  for (const c of channels) {
    if (!/^https?:/.test(c)) continue;
    try { await fetch(`${c.replace(/\/$/, '')}/noarch/repodata.json`, { method: 'HEAD', signal: AbortSignal.timeout(5000) }); } catch { return c; }
  }
  return undefined;
}

export function parseCondaLock(lock: Buffer): CondaLock {
  return JSON.parse(lock.toString('utf8')) as CondaLock;
}

export function condaLockedPackages(lock: Buffer): LockedPackage[] {
  return parseCondaLock(lock).packages.map((p) => ({ path: p.name, name: p.name, version: p.version }));
}

/**
 * Installs a conda lock into the environment cache (once per lock hash) with the built-in
 * installer: each package is downloaded, its sha256 checked against the lock, and extracted
 * into the prefix; conda-meta/ records what was installed. A failure removes the prefix.
 */
export async function installCondaLock(lock: Buffer, hash: string, o: { steps: string[]; info?: (line: string) => void }): Promise<InstallOutcome> {
  const parsed = parseCondaLock(lock);
  return cachedInstall({
    kind: 'conda',
    hash,
    info: o.info,
    intact: (dir) => parsed.packages.every((p) => { try { readFileSync(join(dir, 'conda-meta', `${p.name}-${p.version}-${p.build}.json`)); return true; } catch { return false; } }),
    install: async (dir) => {
      mkdirSync(join(dir, 'conda-meta'), { recursive: true });
      for (const p of parsed.packages) {
        const archive = await download(p, o.steps);
        const files = await extractCondaPackage(archive, p.url.slice(p.url.lastIndexOf('/') + 1), dir);
        writeFileSync(join(dir, 'conda-meta', `${p.name}-${p.version}-${p.build}.json`), JSON.stringify({ ...p, files }, null, 2));
      }
    },
  });
}

async function download(p: CondaLockEntry, steps: string[]): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(p.url);
  } catch (e) {
    throw new FlowError('ENV_CHANNEL_UNREACHABLE', `The conda package ${p.url} cannot be downloaded for step ${steps.join(', ')} (${(e as Error).cause ?? (e as Error).message}).`, {
      exitCode: ExitCode.remote, step: steps[0], fix: 'Check the network and the channel; an environment already in the cache needs no channel.', data: { url: p.url },
    });
  }
  if (!res.ok) {
    throw new FlowError('ENV_INSTALL_FAILED', `The conda package ${p.url} cannot be downloaded for step ${steps.join(', ')}: HTTP ${res.status}.`, { exitCode: ExitCode.remote, step: steps[0], fix: 'Check that the channel still serves the locked package.', data: { url: p.url } });
  }
  const data = Buffer.from(await res.arrayBuffer());
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== p.sha256) {
    throw new FlowError('ENV_PACKAGE_CORRUPT', `The conda package ${p.url} does not match its lock: sha256 ${actual}, the lock says ${p.sha256}. Nothing was installed for step ${steps.join(', ')}.`, {
      exitCode: ExitCode.storeIntegrity, step: steps[0], fix: 'The channel serves different bytes than when the environment was locked: check the channel, or resolve again with --refresh-envs if the change is expected.', data: { url: p.url },
    });
  }
  return data;
}
