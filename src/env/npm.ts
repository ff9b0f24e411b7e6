import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { sha256 } from '../util/hash.js';
import { cachedInstall, envCacheRoot, type InstallOutcome } from './cache.js';

/** What `@npm` / `@npmBase` ask for: package name → semver range, and the Node.js range. */
export interface NpmSpec {
  packages: Record<string, string>;
  node?: string;
}

/** One installed package of a lock: its path in node_modules, name and version. */
export interface LockedPackage {
  path: string;
  name: string;
  version: string;
}

/** The root package.json every environment lock is made for: fixed, so equal specs give equal locks. */
const ROOT_NAME = 'flowrun-env';
const NPM_FLAGS = ['--no-audit', '--no-fund', '--no-update-notifier'];

interface NpmLockFile {
  packages?: Record<string, { version?: string; link?: boolean; dependencies?: Record<string, string> }>;
}

/** The spec in a canonical form (sorted names), the basis of its cache key and of records. */
export function canonicalSpec(spec: NpmSpec): NpmSpec {
  const packages = Object.fromEntries(Object.entries(spec.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return spec.node === undefined ? { packages } : { packages, node: spec.node };
}

/** `{ 'lodash': '^4.17.0' }` as written in a decorator, for error messages. */
export function describeSpec(spec: NpmSpec): string {
  const pk = Object.entries(spec.packages)
    .map(([n, r]) => `'${n}': '${r}'`)
    .join(', ');
  return `@npm({ packages: { ${pk} }${spec.node ? `, node: '${spec.node}'` : ''} })`;
}

/** The registry npm is told to use through the environment, part of a resolution's cache key. */
function registryHint(): string {
  return process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY ?? '';
}

/**
 * Resolves a spec to a package-lock by running npm (`install --package-lock-only`): npm's own
 * resolver, no semver logic here. A resolution is kept in the machine's cache keyed by the spec,
 * the registry and the project's .npmrc, so later runs reuse the lock without asking the registry
 * (like Metaflow's resolved conda environments); `refresh` resolves again.
 */
export async function resolveNpmLock(spec: NpmSpec, o: { projectRoot: string; steps: string[]; refresh?: boolean }): Promise<{ lock: Buffer; cached: boolean }> {
  const npmrc = join(o.projectRoot, '.npmrc');
  const rc = existsSync(npmrc) ? sha256(readFileSync(npmrc)) : null;
  const key = sha256(Buffer.from(JSON.stringify({ spec: canonicalSpec(spec), registry: registryHint(), npmrc: rc })));
  const entry = join(envCacheRoot(), 'npm-resolved', `${key}.json`);
  if (!o.refresh) {
    try {
      return { lock: readFileSync(entry), cached: true };
    } catch {
      /* not resolved yet */
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-resolve-'));
  try {
    writeFileSync(join(dir, 'package.json'), rootPackageJson(spec.packages));
    if (rc) copyFileSync(npmrc, join(dir, '.npmrc'));
    const r = await npm(['install', '--package-lock-only', '--ignore-scripts', '--omit-lockfile-registry-resolved=true', ...NPM_FLAGS], dir);
    if (r.code !== 0) throw npmFailure('resolve', r.output, spec, o.steps);
    const lock = readFileSync(join(dir, 'package-lock.json'));
    writeFileAtomic(entry, lock);
    return { lock, cached: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Installs a lock with `npm ci` into the environment cache (once per lock hash); returns its directory. */
export async function installNpmLock(lock: Buffer, hash: string, o: { projectRoot?: string; steps: string[]; info?: (line: string) => void }): Promise<InstallOutcome> {
  const direct = directDependencies(lock);
  return cachedInstall({
    kind: 'npm',
    hash,
    info: o.info,
    intact: (dir) => installedIntact(dir, lock, Object.keys(direct)),
    install: async (dir) => {
      writeFileSync(join(dir, 'package.json'), rootPackageJson(direct));
      writeFileSync(join(dir, 'package-lock.json'), lock);
      const npmrc = o.projectRoot ? join(o.projectRoot, '.npmrc') : '';
      if (npmrc && existsSync(npmrc)) copyFileSync(npmrc, join(dir, '.npmrc'));
      const r = await npm(['ci', ...NPM_FLAGS], dir);
      if (r.code !== 0) throw npmFailure('install', r.output, { packages: direct }, o.steps, hash);
    },
  });
}

function rootPackageJson(dependencies: Record<string, string>): string {
  return `${JSON.stringify({ name: ROOT_NAME, version: '0.0.0', private: true, dependencies }, null, 2)}\n`;
}

function parseLock(lock: Buffer): NpmLockFile {
  return JSON.parse(lock.toString('utf8')) as NpmLockFile;
}

/** The lock's root dependencies (name → range): with the lock alone an environment can be rebuilt anywhere. */
export function directDependencies(lock: Buffer): Record<string, string> {
  return parseLock(lock).packages?.['']?.dependencies ?? {};
}

/** Every installed package of a lock, sorted by path. */
export function lockedPackages(lock: Buffer): LockedPackage[] {
  const out: LockedPackage[] = [];
  for (const [path, p] of Object.entries(parseLock(lock).packages ?? {})) {
    if (path === '' || p.link || !p.version) continue;
    out.push({ path, name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: p.version });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The directly named packages are where the lock says, at the locked versions. */
function installedIntact(dir: string, lock: Buffer, names: string[]): boolean {
  const locked = parseLock(lock).packages ?? {};
  for (const name of names) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
      if (pkg.version !== locked[`node_modules/${name}`]?.version) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function npm(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: process.env.npm_config_loglevel ?? 'error' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', (e) => resolve({ code: -1, output: `cannot run npm: ${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

const NETWORK_CODES = /\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/;

/** npm's own message, with the step and spec it was for; an unreachable registry is exit 4 naming the URL. */
function npmFailure(what: 'resolve' | 'install', output: string, spec: NpmSpec, steps: string[], hash?: string): FlowError {
  const lines = output.split('\n').filter((l) => l.trim() && !/A complete log of this run|^npm error\s+at /.test(l));
  const npmMessage = lines
    .filter((l) => !/^npm error (code|errno|syscall)\b/.test(l))
    .slice(0, 6)
    .join('\n');
  const where = `${steps.length === 1 ? 'step' : 'steps'} ${steps.join(', ')}`;
  const network = NETWORK_CODES.exec(output);
  if (network) {
    const url = /request to (\S+) failed/.exec(output)?.[1] ?? (registryHint() || 'the npm registry');
    return new FlowError('ENV_REGISTRY_UNREACHABLE', `The npm registry cannot be reached (${network[1]}) at ${url} while trying to ${what} ${describeSpec(spec)} for ${where}.`, {
      exitCode: ExitCode.remote,
      step: steps[0],
      fix: hash ? 'Check the network and registry settings (npm config get registry); an environment already in the cache needs no registry.' : 'Check the network and the registry setting (npm config get registry, or npm_config_registry).',
      data: { url, steps },
    });
  }
  const verb = what === 'resolve' ? 'cannot be resolved' : `cannot be installed from its lock ${hash?.slice(0, 12)}`;
  return new FlowError(what === 'resolve' ? 'ENV_RESOLVE_FAILED' : 'ENV_INSTALL_FAILED', `${describeSpec(spec)} of ${where} ${verb}; npm says:\n${npmMessage || output.trim().slice(0, 800)}`, {
    exitCode: ExitCode.remote,
    step: steps[0],
    fix: what === 'resolve' ? 'Check the package names and version ranges (npm view NAME versions).' : 'Check that the locked packages can still be fetched from the registry.',
    data: { steps },
  });
}
