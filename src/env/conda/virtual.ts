import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { condaPlatform } from './lock.js';

/** A virtual package: what the target system provides, which packages may depend on (`__glibc >=2.17`). */
export interface VirtualPackage {
  name: string;
  version: string;
  build: string;
}

/** What a solve is for: the conda subdir and the virtual packages of the machine that will run the step. */
export interface CondaTarget {
  platform: string;
  virtualPackages: VirtualPackage[];
  /** Where the virtual packages come from, for messages: detected on this machine, or the documented remote defaults. */
  source: 'host' | 'remote-default';
}

type Env = Record<string, string | undefined>;

/**
 * conda's override variables: set to a version to pretend the system has it, set empty to
 * pretend it has none. Unset: detected (host) or the default (remote).
 */
const OVERRIDES: Record<string, string> = {
  __glibc: 'CONDA_OVERRIDE_GLIBC',
  __cuda: 'CONDA_OVERRIDE_CUDA',
  __osx: 'CONDA_OVERRIDE_OSX',
  __linux: 'CONDA_OVERRIDE_LINUX',
  __win: 'CONDA_OVERRIDE_WIN',
  __archspec: 'CONDA_OVERRIDE_ARCHSPEC',
};

/**
 * The documented defaults for a remote linux-64 target (an AWS Batch container), where nothing
 * can be detected when the run starts: glibc 2.28 and kernel 4.18 are the oldest a current
 * conda-forge build needs and what every maintained Batch image (Amazon Linux 2023, Debian 12,
 * Ubuntu 22.04) exceeds; the same defaults pixi uses. `__cuda` only for a step that asks for a
 * GPU (Batch GPU instances ship drivers for CUDA 12). Each is overridable like on the host.
 */
export const REMOTE_DEFAULTS = {
  platform: 'linux-64',
  glibc: '2.28',
  linux: '4.18',
  archspec: 'x86_64',
  cuda: '12.0',
} as const;

/** The virtual packages of this machine, as conda detects them (detection runs once per process). */
export function hostTarget(env: Env = process.env): CondaTarget {
  const detected = (hostDetected ??= detectHost());
  return { platform: condaPlatform(), virtualPackages: applyOverrides(detected, env, condaPlatform()), source: 'host' };
}

/** The target of a step that runs remotely (linux-64 on Batch), from the documented defaults. */
export function remoteTarget(o: { gpu?: boolean } = {}, env: Env = process.env): CondaTarget {
  const d = REMOTE_DEFAULTS;
  const base: VirtualPackage[] = [vp('__unix', '0'), vp('__linux', d.linux), vp('__glibc', d.glibc), vp('__archspec', '1', d.archspec), ...(o.gpu ? [vp('__cuda', d.cuda)] : [])];
  return { platform: d.platform, virtualPackages: applyOverrides(base, env, d.platform), source: 'remote-default' };
}

const vp = (name: string, version: string, build = '0'): VirtualPackage => ({ name, version, build });

let hostDetected: VirtualPackage[] | undefined;

/**
 * An override replaces (or removes, when empty) a detected package, or adds one the machine
 * lacks (CONDA_OVERRIDE_CUDA=12.0 on a machine without a GPU). `__archspec`'s override is its
 * build string, the microarchitecture name, as in conda. An OS's own package (__glibc, __osx...)
 * is only overridden for a target of that OS.
 */
function applyOverrides(base: VirtualPackage[], env: Env, targetPlatform: string): VirtualPackage[] {
  const out = new Map(base.map((p) => [p.name, p]));
  const targetOs = targetPlatform.split('-')[0];
  for (const [name, variable] of Object.entries(OVERRIDES)) {
    const value = env[variable]?.trim();
    if (value === undefined) continue;
    const os = OS_OF[name];
    if (os !== undefined && os !== targetOs) continue;
    if (value === '') out.delete(name);
    else out.set(name, name === '__archspec' ? vp(name, '1', value) : vp(name, value));
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const OS_OF: Record<string, string> = { __glibc: 'linux', __linux: 'linux', __osx: 'osx', __win: 'win' };

function detectHost(): VirtualPackage[] {
  const out: VirtualPackage[] = [];
  const os = platform();
  if (os !== 'win32') out.push(vp('__unix', '0'));
  if (os === 'win32') out.push(vp('__win', '0'));
  if (os === 'linux') {
    const kernel = /^\d+(\.\d+){0,3}/.exec(release())?.[0];
    if (kernel) out.push(vp('__linux', kernel));
    const glibc = glibcVersion();
    if (glibc) out.push(vp('__glibc', glibc));
  }
  if (os === 'darwin') {
    const r = spawnSync('sw_vers', ['-productVersion'], { encoding: 'utf8', timeout: 5000 });
    const version = r.status === 0 ? r.stdout.trim() : '';
    if (/^\d+(\.\d+)*$/.test(version)) out.push(vp('__osx', version));
  }
  out.push(vp('__archspec', '1', microarchitecture()));
  const cuda = cudaVersion();
  if (cuda) out.push(vp('__cuda', cuda));
  return out;
}

/** glibc's version from Node's own report (no process spawned); undefined on musl. */
function glibcVersion(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

/**
 * The CUDA version the installed NVIDIA driver supports, from `nvidia-smi` (which prints it
 * in its banner); none when there is no driver. conda asks libcuda directly; the banner is the
 * same number without loading native code into this process.
 */
function cudaVersion(): string | undefined {
  if (platform() === 'darwin') return undefined;
  const r = spawnSync('nvidia-smi', [], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return undefined;
  return /CUDA Version:\s*(\d+\.\d+)/.exec(r.stdout)?.[1];
}

/**
 * `__archspec`'s build string. archspec names the exact microarchitecture; without its database
 * this gives the x86-64 psABI level the CPU flags meet (x86_64_v2..v4, names archspec also
 * uses) on Linux, else the plain architecture. CONDA_OVERRIDE_ARCHSPEC sets the exact name.
 */
function microarchitecture(): string {
  const cpu = arch();
  if (cpu === 'arm64') return platform() === 'darwin' ? 'arm64' : 'aarch64';
  if (cpu !== 'x64') return cpu;
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    flags = new Set(line.trim().split(/\s+/));
  } catch {
    return 'x86_64';
  }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (!has('cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3')) return 'x86_64';
  if (!has('avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave')) return 'x86_64_v2';
  if (!has('avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl')) return 'x86_64_v3';
  return 'x86_64_v4';
}

/** The text of a target for messages: `linux-64 (__glibc 2.36, __unix 0, ...)`. */
export function describeTarget(t: CondaTarget): string {
  const vps = t.virtualPackages.map((p) => `${p.name} ${p.version}${p.build !== '0' ? ` ${p.build}` : ''}`).join(', ');
  return `${t.platform} (${t.source === 'host' ? 'this machine' : 'remote defaults'}: ${vps || 'no virtual packages'})`;
}
