import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../../errors/index.js';
import { cachedInstall, type InstallOutcome } from '../cache.js';
import { extractCondaPackage } from '../extract.js';
import { type PrefixRecordInput, writeCondaMeta } from './conda-meta.js';
import type { InstallContext } from './errors.js';
import { type PrefixPath, linkPackage, prefixTooLong } from './link.js';
import { type CondaLock, type CondaLockEntry, archiveName, condaPlatform, dist, parseCondaLock } from './lock.js';
import { type PackageInfo, readPackageInfo } from './package-info.js';
import { paddingFits } from './placeholder.js';
import { PackageCache, LocalPackageTier } from './pkg-cache.js';
import { type PythonInfo, compilePyc, pycPath, pythonInfo } from './python.js';
import { unmetError, unmetVirtualRequirements } from './requirements.js';
import { hostTarget } from './virtual.js';
import { mapLimit } from '../../util/map-limit.js';

export interface InstallCondaOptions {
  steps: string[];
  info?: (line: string) => void;
  /** The match specs the lock was solved from (conda-meta's requested_spec and history). */
  specs?: string[];
  /** The archive cache (default: the machine's, under the flowrun cache directory). */
  cache?: PackageCache;
  /**
   * Check the packages' virtual-package requirements against this machine (default true). A Batch
   * container skips it: its lock was solved for the remote target, and the check needs the solver.
   */
  checkVirtual?: boolean;
}

/** One package on its way into the prefix. */
interface Unpacked {
  entry: CondaLockEntry;
  dir: string;
  info: PackageInfo;
  ctx: InstallContext;
  archive: Buffer;
}

/**
 * Installs a conda lock into the environment cache (once per lock hash) as conda would: every
 * archive comes from the machine's package cache or is downloaded into it, its sha256 checked
 * against the lock before it is unpacked; then the packages are linked in dependency order
 * (placeholders replaced, noarch python mapped, entry points written), .pyc compiled with the
 * env's Python, and conda-meta/ written. Everything that can be refused is checked before the
 * first file is linked: the lock's platform, the machine's virtual packages, pre-/post-link
 * scripts, binary placeholders too short for the prefix. A failure removes the prefix.
 */
export async function installCondaLock(lock: Buffer, hash: string, o: InstallCondaOptions): Promise<InstallOutcome> {
  const parsed = parseCondaLock(lock, `The conda lock ${hash.slice(0, 12)} of step ${o.steps.join(', ')}`);
  const here = condaPlatform();
  if (parsed.platform !== here) {
    throw new FlowError('ENV_PLATFORM_MISMATCH', `The conda lock ${hash.slice(0, 12)} of step ${o.steps.join(', ')} was solved for ${parsed.platform}, but this machine is ${here}: its packages are built for the other platform and cannot be installed here.`, {
      exitCode: ExitCode.remote,
      step: o.steps[0],
      data: { lockPlatform: parsed.platform, platform: here },
      fix: `Run or replay it on a ${parsed.platform} machine; to use the spec here, run the flow (not a replay) so it is solved for ${here}.`,
    });
  }
  return cachedInstall({
    kind: 'conda',
    hash,
    info: o.info,
    // conda-meta/history also tells this installer's prefixes from those of flowrun versions that did not relocate.
    intact: (dir) => ['history', ...parsed.packages.map((p) => `${dist(p)}.json`)].every((f) => existsSync(join(dir, 'conda-meta', f))),
    install: (dir) => installInto(realpathSync(dir), parsed, o.cache ?? new PackageCache(), o),
  });
}

async function installInto(prefix: string, lock: CondaLock, cache: PackageCache, o: InstallCondaOptions): Promise<void> {
  const staging = `${prefix}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    const unpacked = await unpackAll(lock, staging, cache, o);
    await checkBeforeLinking(unpacked, prefix, o.steps, o.checkVirtual);
    const py = unpacked.find((u) => u.entry.name === 'python');
    const python = py ? pythonInfo(py.info.index) : undefined;
    const linked = new Map<Unpacked, PrefixPath[]>();
    const owners = new Map<string, string>();
    const warn = (line: string) => (o.info ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
    for (const u of installOrder(unpacked)) linked.set(u, linkPackage(u.info, { prefix, staging: u.dir, owners, python, warn, ctx: u.ctx }));
    if (python)
      await addPyc(
        prefix,
        python,
        unpacked.filter((u) => u.info.noarchPython),
        linked,
      );
    const kept = new LocalPackageTier();
    const records: PrefixRecordInput[] = unpacked.map((u) => ({
      entry: u.entry,
      index: u.info.index,
      archive: u.archive,
      archivePath: kept.path(u.entry.sha256),
      paths: linked.get(u) ?? [],
      requestedSpec: o.specs?.find((s) => s.split(/\s+/)[0] === u.entry.name),
    }));
    writeCondaMeta(prefix, records, o.specs ?? []);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function unpackAll(lock: CondaLock, staging: string, cache: PackageCache, o: InstallCondaOptions): Promise<Unpacked[]> {
  let downloaded = 0;
  const archives = await mapLimit(lock.packages, 4, async (p) => {
    const f = await cache.fetch(
      p.sha256,
      () => download(p, o.steps),
      (actual) => corrupt(p, actual, o.steps),
    );
    if (f.from === undefined) downloaded++;
    return f.bytes;
  });
  o.info?.(`conda: ${lock.packages.length} packages, ${downloaded} downloaded, ${lock.packages.length - downloaded} from the package cache`);
  const out: Unpacked[] = [];
  for (const [i, entry] of lock.packages.entries()) {
    const dir = join(staging, String(i));
    mkdirSync(dir);
    await extractCondaPackage(archives[i]!, archiveName(entry), dir);
    const ctx: InstallContext = { pkg: dist(entry), url: entry.url, steps: o.steps };
    out.push({ entry, dir, info: readPackageInfo(dir, entry, ctx), ctx, archive: archives[i]! });
  }
  return out;
}

/** Refusals that must come before the first file is linked (the prefix is removed on failure anyway, but nothing half-made is ever run). */
async function checkBeforeLinking(unpacked: Unpacked[], prefix: string, steps: string[], checkVirtual?: boolean): Promise<void> {
  for (const u of unpacked) {
    if (u.info.linkScripts.length > 0) {
      throw new FlowError(
        'ENV_LINK_SCRIPT',
        `The conda package ${u.ctx.pkg} ships ${u.info.linkScripts.join(' and ')}, a script conda would run while installing it; flowrun runs no package code at install time (an environment is a pure function of its archives: it writes only inside the prefix and installs the same way on replay). Nothing was installed for step ${steps.join(', ')}.`,
        {
          exitCode: ExitCode.remote,
          step: steps[0],
          data: { package: u.ctx.pkg, scripts: u.info.linkScripts },
          fix: `Pin a version or build of ${u.entry.name} without install scripts, or install what the script sets up yourself in the step.`,
        },
      );
    }
    for (const p of u.info.paths) {
      if (p.mode === 'binary' && p.placeholder !== undefined && !paddingFits(p.placeholder, prefix)) throw prefixTooLong(u.ctx, p.path, p.placeholder, prefix);
    }
  }
  if (unpacked.some((u) => u.info.noarchPython) && !unpacked.some((u) => u.entry.name === 'python')) {
    const u = unpacked.find((x) => x.info.noarchPython)!;
    throw new FlowError('ENV_PACKAGE_INVALID', `The conda package ${u.ctx.pkg} is a noarch python package, but the lock of step ${steps.join(', ')} has no python to install it for. Nothing was installed.`, {
      exitCode: ExitCode.remote,
      step: steps[0],
      fix: "Add python to the spec (python: '3.11'), or solve again with --refresh-envs.",
    });
  }
  if (checkVirtual === false) return;
  const target = hostTarget();
  const unmet = await unmetVirtualRequirements(
    unpacked.map((u) => ({ pkg: u.ctx.pkg, depends: u.info.index.depends ?? [] })),
    target,
  );
  if (unmet.length > 0) throw unmetError(unmet, target, steps);
}

/** Dependencies before dependents (python before its noarch packages), ties in lock order; a cycle is broken in lock order. */
function installOrder(unpacked: Unpacked[]): Unpacked[] {
  const byName = new Map(unpacked.map((u) => [u.entry.name, u]));
  const deps = new Map(unpacked.map((u) => [u, (u.info.index.depends ?? []).map((d) => byName.get(d.trim().split(/[\s=<>!~]/)[0]!)).filter((x): x is Unpacked => x !== undefined && x !== u)]));
  const done = new Set<Unpacked>();
  const order: Unpacked[] = [];
  const visit = (u: Unpacked, path: Set<Unpacked>) => {
    if (done.has(u) || path.has(u)) return;
    path.add(u);
    for (const d of deps.get(u)!) visit(d, path);
    path.delete(u);
    done.add(u);
    order.push(u);
  };
  for (const u of unpacked) visit(u, new Set());
  return order;
}

/** Compiles the .py files noarch python packages put in site-packages, and adds the .pyc to the package that owns the source. */
async function addPyc(prefix: string, python: PythonInfo, noarch: Unpacked[], linked: Map<Unpacked, PrefixPath[]>): Promise<void> {
  const owner = new Map<string, PrefixPath[]>();
  for (const u of noarch) {
    const paths = linked.get(u)!;
    for (const p of paths) if (p.path_type === 'hardlink' && p._path.endsWith('.py') && p._path.startsWith(`${python.sitePackages}/`)) owner.set(p._path, paths);
  }
  const sources = [...owner.keys()];
  const pycs = await compilePyc(prefix, python, sources);
  const made = new Set(pycs);
  for (const src of sources) {
    const pyc = pycPath(src, python.version);
    if (made.has(pyc)) owner.get(src)!.push({ _path: pyc, path_type: 'pyc_file' });
  }
}

async function download(p: CondaLockEntry, steps: string[]): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(p.url);
  } catch (e) {
    throw new FlowError('ENV_CHANNEL_UNREACHABLE', `The conda package ${p.url} cannot be downloaded for step ${steps.join(', ')} (${(e as Error).cause ?? (e as Error).message}).`, {
      exitCode: ExitCode.remote,
      step: steps[0],
      fix: 'Check the network and the channel; an environment already in the cache needs no channel.',
      data: { url: p.url },
    });
  }
  if (!res.ok) {
    throw new FlowError('ENV_INSTALL_FAILED', `The conda package ${p.url} cannot be downloaded for step ${steps.join(', ')}: HTTP ${res.status}.`, { exitCode: ExitCode.remote, step: steps[0], fix: 'Check that the channel still serves the locked package.', data: { url: p.url } });
  }
  return Buffer.from(await res.arrayBuffer());
}

function corrupt(p: CondaLockEntry, actual: string, steps: string[]): FlowError {
  return new FlowError('ENV_PACKAGE_CORRUPT', `The conda package ${p.url} does not match its lock: sha256 ${actual}, the lock says ${p.sha256}. Nothing was installed for step ${steps.join(', ')}.`, {
    exitCode: ExitCode.storeIntegrity,
    step: steps[0],
    fix: 'The channel serves different bytes than when the environment was locked: check the channel, or resolve again with --refresh-envs if the change is expected.',
    data: { url: p.url },
  });
}
