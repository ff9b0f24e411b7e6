import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { cachedInstall, type InstallOutcome } from './cache.js';
import { type CondaLockEntry, parseCondaLock } from './conda/lock.js';
import { extractCondaPackage } from './extract.js';

export { type CondaLock, type CondaLockEntry, type CondaSpec, DEFAULT_CHANNELS, condaLockedPackages, condaPlatform, describeCondaSpec, parseCondaLock } from './conda/lock.js';
export { condaConstraint, matchSpecs } from './conda/matchspec.js';
export { resolveCondaLock } from './conda/solve.js';
export { type CondaTarget, type VirtualPackage, REMOTE_DEFAULTS, hostTarget, remoteTarget } from './conda/virtual.js';

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
