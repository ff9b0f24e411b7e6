import { join } from 'node:path';
import { installCondaLock, LocalPackageTier, PackageCache, type PackageTier } from '../../env/conda.js';
import { ExitCode, FlowError } from '../../errors/index.js';
import { safeExtract } from '../../package/safe-extract.js';
import type { S3Store } from '../../store/s3.js';
import type { TaskNpmEnv } from '../../task/env-resolution.js';
import type { EnvTarball, TaskPayload } from '../payload.js';

export interface InstalledEnvironments {
  /** Variables the step's environment sets (conda: PATH, CONDA_PREFIX), computed here, in the container. */
  vars: Record<string, string>;
  npm?: TaskNpmEnv;
}

interface Context {
  store: S3Store;
  codeDir: string;
  work: string;
  get: (what: string, hash: string) => Promise<Buffer>;
  log: (line: string) => void;
}

/**
 * Installs the payload's environments from the store only — a registry or a conda channel is
 * never contacted: the project's dependencies and the @npm environment come as tarballs installed
 * for this platform on the orchestrator (fetched by hash, so verified), the conda environment is
 * linked from archives the orchestrator copied into the store, keyed by their sha256.
 */
export async function installEnvironments(payload: TaskPayload, c: Context): Promise<InstalledEnvironments> {
  const out: InstalledEnvironments = { vars: {} };
  if (payload.project) await extractModules(payload.project, c.codeDir, c, 'project');
  if (payload.npm) {
    const dir = join(c.work, 'npm-env');
    await extractModules(payload.npm, dir, c, 'npm');
    out.npm = { modules: join(dir, 'node_modules'), names: payload.npm.names };
  }
  if (payload.conda) {
    const lock = await c.get('conda', payload.conda.lock);
    const cache = new StoreOnlyCache([new LocalPackageTier(), new StoreTier(c.store)], c.store.location);
    const { dir } = await installCondaLock(lock, payload.conda.lock, { steps: [payload.tasks[0]!.step], specs: payload.conda.specs, cache, info: c.log, checkVirtual: false });
    out.vars = { CONDA_PREFIX: dir, PATH: `${dir}/bin:${process.env.PATH ?? ''}` };
  }
  return out;
}

/**
 * A node_modules tarball, through the shared safe extraction: npm's links (node_modules/.bin)
 * stay inside the directory, special mode bits are cleared, nothing is written over the code
 * package the project's tarball lands beside.
 */
async function extractModules(env: EnvTarball, dir: string, c: Context, what: string): Promise<void> {
  const tar = await c.get(what, env.tarball);
  const where = `The ${what === 'npm' ? '@npm environment' : "project's node_modules"} tarball ${env.tarball.slice(0, 12)}`;
  const fix = `Delete the record batch/envs/npm-${env.lock}-${env.platform}.json from the S3 store so that the next run rebuilds the tarball, and run \`flow fsck\` on it.`;
  safeExtract(tar, dir, {
    symlinks: 'confined',
    specialModes: 'mask',
    backslashes: 'literal',
    unsafe: (r) =>
      new FlowError('BATCH_ENV_ARCHIVE_UNSAFE', `${where} has an entry "${r.entry}" that ${r.reason}; nothing of it is installed.`, {
        exitCode: ExitCode.storeIntegrity,
        file: r.entry,
        data: { tarball: env.tarball, entry: r.entry, reason: r.reason },
        fix,
      }),
    corrupt: (e) =>
      new FlowError('BATCH_ENV_ARCHIVE_CORRUPT', `${where} is not a valid tar archive (${e instanceof Error ? e.message : String(e)}).`, {
        exitCode: ExitCode.storeIntegrity,
        cause: e,
        data: { tarball: env.tarball },
        fix,
      }),
  });
}

/** The store's objects as a package tier: archives by sha256 (getObject verifies the hash). */
class StoreTier implements PackageTier {
  constructor(private readonly store: S3Store) {}
  get location(): string {
    return this.store.location;
  }
  async get(sha256: string): Promise<Buffer | undefined> {
    return (await this.store.hasObject(sha256)) ? this.store.getObject(sha256) : undefined;
  }
  async put(): Promise<void> {
    /* the orchestrator fills it */
  }
  async drop(): Promise<void> {
    /* never deletes from the store */
  }
}

/** A package cache that never downloads: in a container every archive must come from a tier. */
class StoreOnlyCache extends PackageCache {
  constructor(
    tiers: PackageTier[],
    private readonly where: string,
  ) {
    super(tiers);
  }
  override fetch(sha256: string, _download: () => Promise<Buffer>, mismatch: (actual: string) => Error) {
    return super.fetch(
      sha256,
      async () => {
        throw new FlowError('BATCH_CONDA_PACKAGE_MISSING', `The conda package with sha256 ${sha256} is not in the store ${this.where}; a Batch container never downloads from a channel.`, {
          exitCode: ExitCode.storeIntegrity,
          fix: 'Run the flow again: the orchestrator copies every package of the lock into the store before it submits jobs.',
        });
      },
      mismatch,
    );
  }
}
