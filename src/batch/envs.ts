import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { PackageCache } from '../env/conda/pkg-cache.js';
import { parseCondaLock } from '../env/conda.js';
import { directDependencies } from '../env/npm.js';
import { ExitCode, FlowError } from '../errors/index.js';
import type { Store } from '../store/types.js';
import { sha256 } from '../util/hash.js';
import { mapLimit } from '../util/map-limit.js';
import type { EnvTarball, TaskPayload } from './payload.js';

/** The platform of every Batch container (AWS Batch runs linux/amd64 images unless told otherwise). */
export const TARGET = { os: 'linux', cpu: 'x64', name: 'linux-x64' } as const;

/** Where an installed node_modules for (lock, platform) is recorded in the S3 store: any orchestrator reuses it. */
const envRecordPath = (lock: string, platform: string) => `batch/envs/npm-${lock}-${platform}.json`;

interface EnvRecord {
  v: 1;
  lock: string;
  platform: string;
  tarball: string;
}

/**
 * A node_modules tree for the containers, from a package-lock: installed once per (lock hash,
 * platform) on the orchestrator with `npm ci --os=linux --cpu=x64` (npm picks the optional native
 * packages of the target), tarred and stored as an object; the record naming it lets every later
 * run, from any machine, skip the install. The container fetches the tarball by hash (verified) and
 * never reaches a registry. Install scripts run only when this machine is the target platform:
 * elsewhere they would build for the wrong one, so a lock that needs them is refused, by name.
 */
export async function npmEnvTarball(remote: Store, lock: Buffer, o: { lockHash: string; packageJson?: Buffer; npmrc?: string; what: string; info: (line: string) => void; host?: string }): Promise<EnvTarball> {
  const existing = await remote.readRecord<EnvRecord>(envRecordPath(o.lockHash, TARGET.name));
  if (existing && existing.lock === o.lockHash && (await remote.hasObject(existing.tarball))) return { lock: o.lockHash, platform: TARGET.name, tarball: existing.tarball };
  const host = o.host ?? `${platform()}-${arch()}`;
  const cross = host !== TARGET.name;
  if (cross) refuseInstallScripts(lock, o.what);
  o.info(`installing ${o.what} for ${TARGET.name} (lock ${o.lockHash.slice(0, 12)}) once, for the Batch containers`);
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-batch-env-'));
  try {
    writeFileSync(join(dir, 'package.json'), o.packageJson ?? JSON.stringify({ name: 'flowrun-env', version: '0.0.0', private: true, dependencies: directDependencies(lock) }));
    writeFileSync(join(dir, 'package-lock.json'), lock);
    if (o.npmrc && existsSync(o.npmrc)) copyFileSync(o.npmrc, join(dir, '.npmrc'));
    const args = ['ci', `--os=${TARGET.os}`, `--cpu=${TARGET.cpu}`, '--no-audit', '--no-fund', '--no-update-notifier', ...(cross ? ['--ignore-scripts'] : [])];
    const r = await run('npm', args, dir);
    if (r.code !== 0) {
      throw new FlowError('BATCH_ENV_INSTALL_FAILED', `Installing ${o.what} for ${TARGET.name} (the Batch containers) failed; npm says:\n${r.output.trim().split('\n').slice(-8).join('\n')}`, {
        exitCode: ExitCode.remote,
        fix: 'Check that the registry holds every locked package (npm ci works here), then run again.',
      });
    }
    const tar = await tarOf(dir);
    const tarball = await remote.putObject(tar);
    await remote.writeRecord(envRecordPath(o.lockHash, TARGET.name), { v: 1, lock: o.lockHash, platform: TARGET.name, tarball } satisfies EnvRecord);
    return { lock: o.lockHash, platform: TARGET.name, tarball };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Packages of the lock that run install scripts (native builds, binary downloads), which only the target platform can run. */
function refuseInstallScripts(lock: Buffer, what: string): void {
  const packages = (JSON.parse(lock.toString('utf8')) as { packages?: Record<string, { hasInstallScript?: boolean; optional?: boolean; os?: string[]; cpu?: string[] }> }).packages ?? {};
  const scripted = Object.entries(packages)
    .filter(([path, p]) => path !== '' && p.hasInstallScript && !(p.os && !p.os.includes(TARGET.os)) && !(p.cpu && !p.cpu.includes(TARGET.cpu)))
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  if (scripted.length === 0) return;
  throw new FlowError('BATCH_ENV_INSTALL_SCRIPTS', `${what} has packages with install scripts (${scripted.join(', ')}), which build or download code for the machine that installs them: this ${platform()}-${arch()} machine cannot install them for the ${TARGET.name} Batch containers.`, {
    exitCode: ExitCode.usage,
    data: { packages: scripted },
    fix: 'Use a prebuilt image that already has these packages (templates/aws/Dockerfile shows how) in @batch({ image }), or run the flow from a linux-x64 machine.',
  });
}

/** The conda packages of a lock, put into the store by sha256 (from this machine's package cache, or the channel once), for the containers. */
export async function uploadCondaPackages(remote: Store, lock: Buffer, steps: string[], info: (line: string) => void): Promise<void> {
  const parsed = parseCondaLock(lock, `The conda lock of step ${steps.join(', ')}`);
  const missing: typeof parsed.packages = [];
  await mapLimit(parsed.packages, 8, async (p) => {
    if (!(await remote.hasObject(p.sha256))) missing.push(p);
  });
  if (missing.length === 0) return;
  info(`conda: copying ${missing.length} package archive(s) of step ${steps.join(', ')} to the store for the Batch containers`);
  const cache = new PackageCache();
  await mapLimit(missing, 4, async (p) => {
    const { bytes } = await cache.fetch(
      p.sha256,
      () => download(p.url, steps),
      (actual) => new FlowError('ENV_PACKAGE_CORRUPT', `The conda package ${p.url} does not match its lock: sha256 ${actual}, the lock says ${p.sha256}.`, { exitCode: ExitCode.storeIntegrity, fix: 'Check the channel, or resolve again with --refresh-envs.' }),
    );
    // Archives are compressed already; the object id is the archive's own sha256, as in the lock.
    await remote.putObject(bytes, { compress: false });
  });
}

async function download(url: string, steps: string[]): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FlowError('ENV_CHANNEL_UNREACHABLE', `The conda package ${url} cannot be downloaded for step ${steps.join(', ')} (${(e as Error).message}).`, { exitCode: ExitCode.remote, fix: 'Check the network and the channel.' });
  }
  if (!res.ok) throw new FlowError('ENV_INSTALL_FAILED', `The conda package ${url} cannot be downloaded for step ${steps.join(', ')}: HTTP ${res.status}.`, { exitCode: ExitCode.remote, fix: 'Check that the channel still serves the locked package.' });
  return Buffer.from(await res.arrayBuffer());
}

/** node_modules/ of `dir` as a tar (paths relative to `dir`, ownership dropped, links kept). */
async function tarOf(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = createTar({ cwd: dir, portable: true, noMtime: true, follow: false }, ['node_modules']);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: process.env.npm_config_loglevel ?? 'error' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', (e) => resolve({ code: -1, output: `cannot run ${cmd}: ${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** The hash of a lock's bytes (the key of its installed trees). */
export const lockHash = (lock: Buffer) => sha256(lock);

/** The environments of a run's steps as the orchestrator resolved them (object ids in its store). */
import type { RunEnvironments } from '../runtime/backends.js';

export type { RunEnvironments };

export type ContainerEnvs = Pick<TaskPayload, 'project' | 'npm' | 'conda'>;

/**
 * What each step's containers install, prepared once per lock for the whole run: the project's
 * dependencies and @npm environments as linux-x64 tarballs, conda archives copied to the store.
 */
export class StepEnvironments {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    private readonly envs: RunEnvironments | undefined,
    private readonly local: Store,
    private readonly remote: Store,
    private readonly info: (line: string) => void,
  ) {}

  async forStep(step: string): Promise<ContainerEnvs> {
    const e = this.envs;
    if (!e) return {};
    const out: ContainerEnvs = {};
    const project = e.project?.name === 'package-lock.json' ? await this.once(`project:${e.project.hash}`, () => this.projectTarball(e.projectRoot, e.project!.hash)) : undefined;
    if (project) out.project = project as EnvTarball;
    const npm = e.npm.get(step);
    if (npm) {
      const lock = await this.local.getObject(npm.lock);
      const tarball = await this.once(`npm:${npm.lock}`, () => npmEnvTarball(this.remote, lock, { lockHash: npm.lock, what: `the @npm environment of step ${step}`, info: this.info }));
      out.npm = { ...(tarball as EnvTarball), names: npm.names };
    }
    const conda = e.conda.get(step);
    if (conda) {
      await this.once(`conda:${conda.lock}`, async () => {
        const lock = await this.local.getObject(conda.lock);
        await uploadCondaPackages(this.remote, lock, [step], this.info);
        if (!(await this.remote.hasObject(conda.lock))) await this.remote.putObject(lock);
      });
      out.conda = conda;
    }
    return out;
  }

  private async projectTarball(root: string, hash: string): Promise<EnvTarball> {
    const lock = readFileSync(join(root, 'package-lock.json'));
    if (sha256(lock) !== hash) throw new FlowError('BATCH_ENV_LOCK_CHANGED', `${join(root, 'package-lock.json')} changed while the run started (its hash is no longer the recorded ${hash.slice(0, 12)}).`, { exitCode: ExitCode.usage, fix: 'Run the flow again.' });
    return npmEnvTarball(this.remote, lock, { lockHash: hash, packageJson: readFileSync(join(root, 'package.json')), npmrc: join(root, '.npmrc'), what: "the project's dependencies (package-lock.json)", info: this.info });
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memo.set(key, p);
      p.catch(() => this.memo.delete(key));
    }
    return p;
  }
}
