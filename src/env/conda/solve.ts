import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FlowError, UsageError } from '../../errors/index.js';
import { writeFileAtomic } from '../../util/fs-atomic.js';
import { sha256 } from '../../util/hash.js';
import { envCacheRoot } from '../cache.js';
import { type CondaLock, type CondaLockEntry, type CondaSpec, DEFAULT_CHANNELS, describeCondaSpec } from './lock.js';
import { matchSpecs } from './matchspec.js';
import { type CondaTarget, type VirtualPackage, describeTarget, hostTarget } from './virtual.js';

type Rattler = typeof import('@conda-org/rattler');

/**
 * Solves a spec with rattler (the conda solver compiled to WASM) against the channels' repodata
 * for a target platform and its virtual packages (this machine's by default), and returns the
 * lock as canonical JSON. A solve is kept in the machine's cache keyed by specs, channels,
 * platform and virtual packages, so later runs reuse it; `refresh` solves again.
 *
 * rattler's JS `simpleSolve` (0.3.5) has no virtual-package parameter: its Rust side leaves the
 * solver task's virtual packages empty. It does take "locked" (installed) packages, which the
 * solver adds to its candidates; the virtual packages are passed there, as installed records,
 * and filtered out of the result. Measured: a package depending on `__glibc >=2.17` fails to
 * solve without them and solves with them; `__glibc >=2.40` against 2.35 still fails.
 */
export async function resolveCondaLock(spec: CondaSpec, o: { steps: string[]; refresh?: boolean; target?: CondaTarget }): Promise<{ lock: Buffer; cached: boolean }> {
  const target = o.target ?? hostTarget();
  const channels = spec.channels ?? DEFAULT_CHANNELS;
  const specs = matchSpecs(spec);
  const key = sha256(Buffer.from(JSON.stringify({ specs, channels, platform: target.platform, virtual: target.virtualPackages })));
  const entry = join(envCacheRoot(), 'conda-resolved', `${key}.json`);
  if (!o.refresh) {
    try {
      return { lock: readFileSync(entry), cached: true };
    } catch {
      /* not solved yet */
    }
  }
  const rattler = await import('@conda-org/rattler');
  checkVersionSpecs(rattler, spec, specs, o.steps);
  let solved;
  try {
    solved = await rattler.simpleSolve(
      specs,
      channels,
      [target.platform as never, 'noarch'],
      target.virtualPackages.map((v) => installedRecord(v, target.platform)),
    );
  } catch (e) {
    throw await solveFailure(String(e instanceof Error ? e.message : e), spec, channels, o.steps, target);
  }
  const packages = solved
    .filter((p) => !p.packageName.startsWith('__'))
    .map((p): CondaLockEntry => {
      if (!p.sha256) throw new FlowError('ENV_RESOLVE_FAILED', `The channel gives no sha256 for ${p.url}, so ${describeCondaSpec(spec)} of step ${o.steps.join(', ')} cannot be locked.`, { exitCode: ExitCode.remote, step: o.steps[0], fix: 'Use a channel whose repodata lists sha256 for every package.' });
      return { name: p.packageName, version: String(p.version), build: p.build, url: p.url, sha256: p.sha256 };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lock = Buffer.from(`${JSON.stringify({ schema: 'flowrun.conda-lock/1', platform: target.platform, packages } satisfies CondaLock, null, 2)}\n`);
  writeFileAtomic(entry, lock);
  return { lock, cached: false };
}

/** A virtual package in the shape of an installed record (`simpleSolve`'s locked packages). */
function installedRecord(v: VirtualPackage, platform: string) {
  const filename = `${v.name}-${v.version}-${v.build}.conda`;
  return { url: `https://virtual.invalid/${platform}/${filename}`, packageName: v.name, version: v.version, build: v.build, buildNumber: 0, filename, depends: [], subdir: platform };
}

/** Each version constraint must parse as a conda version spec: a typo is a usage error naming the package, before any download. */
function checkVersionSpecs(rattler: Rattler, spec: CondaSpec, specs: string[], steps: string[]): void {
  for (const s of specs) {
    const [name, version] = s.split(/\s+/);
    if (version === undefined) continue;
    try {
      new rattler.VersionSpec(version, 'lenient').free();
    } catch (e) {
      throw new UsageError('ENV_CONDA_SPEC', `${describeCondaSpec(spec)} of step ${steps.join(', ')}: '${version}' for ${name} is not a conda version spec (${String(e instanceof Error ? e.message : e)}).`, {
        step: steps[0],
        fix: "Write a conda version: '1.26' (any 1.26.x), '==1.26.4', '>=1.26,<2', '1.26.*', optionally followed by a build string.",
      });
    }
  }
}

async function solveFailure(message: string, spec: CondaSpec, channels: string[], steps: string[], target: CondaTarget): Promise<FlowError> {
  const where = `${steps.length === 1 ? 'step' : 'steps'} ${steps.join(', ')}`;
  if (/sending request|connect|dns|timed out/i.test(message)) {
    const url = (await firstUnreachable(channels)) ?? channels.join(', ');
    return new FlowError('ENV_CHANNEL_UNREACHABLE', `The conda channel ${url} cannot be reached while solving ${describeCondaSpec(spec)} for ${where} (${message.trim()}).`, {
      exitCode: ExitCode.remote,
      step: steps[0],
      fix: 'Check the network and the channel URL; an environment already in the cache needs no channel.',
      data: { url, steps },
    });
  }
  const virtual = /\b__[a-z_]+/.exec(message)?.[0];
  const fix = virtual
    ? `A package needs the virtual package ${virtual}, which the target ${describeTarget(target)} does not provide in that version. Pick another version or build, or, if the machine that runs the step does provide it, say so with conda's override variable (e.g. CONDA_OVERRIDE_${virtual.slice(2).toUpperCase()}=<version>).`
    : 'Check the package names and version specs against the channel; the solver names the packages that conflict.';
  return new FlowError('ENV_RESOLVE_FAILED', `${describeCondaSpec(spec)} of ${where} cannot be solved for ${target.platform}; the solver says:\n${message.trim()}`, {
    exitCode: ExitCode.remote,
    step: steps[0],
    fix,
    data: { steps, platform: target.platform },
  });
}

async function firstUnreachable(channels: string[]): Promise<string | undefined> {
  for (const c of channels) {
    if (!/^https?:/.test(c)) continue;
    try {
      await fetch(`${c.replace(/\/$/, '')}/noarch/repodata.json`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    } catch {
      return c;
    }
  }
  return undefined;
}
