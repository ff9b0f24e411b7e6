import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a job's "image" is on the local endpoint: the host's system folders (read-only), plus the
 * image's own folders and environment. By default every image name is the host's system; tests
 * name images that differ (an old Node, no Node at all).
 */
export interface ImageSpec {
  /** Host folders mounted read-only into the container. */
  mounts?: Array<{ host: string; container: string }>;
  /** The image's ENV (its PATH first); the default PATH is Docker's. */
  env?: Record<string, string>;
}

/** A folder of the host mounted into a job (an EFS or host volume of the job definition). */
export interface VolumeMount {
  host: string;
  container: string;
  readOnly: boolean;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** System folders a container image has; on a merged-/usr host some are symlinks into /usr. */
const SYSTEM = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Where the job starts, as a container's WORKDIR; HOME is /root, empty. */
export const WORKDIR = '/workdir';
/** A registry URL nothing answers at (the discard port). */
export const NO_REGISTRY = 'http://127.0.0.1:9/';

let available: boolean | undefined;

/** Whether bubblewrap can run here (installed, and namespaces allowed). */
export function bwrapAvailable(): boolean {
  available ??= spawnSync('bwrap', ['--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '/bin/true'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * bubblewrap arguments that run a job like a container: a new root with only the system folders
 * (read-only), an empty tmpfs /tmp, HOME and working directory, new PID/IPC/UTS namespaces, and
 * exactly the environment given (nothing of the endpoint's own). The network is shared, so the
 * job reaches the local S3 server as it would reach S3; the environment points npm at no registry.
 */
export function sandboxArgs(image: ImageSpec, env: Record<string, string>, volumes: VolumeMount[] = [], o: { pidNamespace?: boolean } = {}): string[] {
  // Without a PID namespace bwrap waits for the command itself, so GNU time (CPU measurement) sees its whole tree.
  const args = ['--die-with-parent', ...(o.pidNamespace === false ? [] : ['--unshare-pid']), '--unshare-ipc', '--unshare-uts', '--hostname', 'batch-job', '--clearenv'];
  for (const dir of SYSTEM) {
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (st?.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/root', '--dir', WORKDIR, '--chdir', WORKDIR);
  for (const m of image.mounts ?? []) args.push('--ro-bind', m.host, m.container);
  for (const v of volumes) args.push(v.readOnly ? '--ro-bind' : '--bind', v.host, v.container);
  // npm_config_registry: the container has no route to a package registry (as in a private subnet).
  const all = { PATH: DEFAULT_PATH, HOME: '/root', HOSTNAME: 'batch-job', npm_config_registry: NO_REGISTRY, ...image.env, ...env };
  for (const [k, v] of Object.entries(all)) args.push('--setenv', k, v);
  return args;
}

/** Whether `command` is found on the image's PATH (else the container cannot start, as on Batch). */
export function commandInImage(command: string, image: ImageSpec): boolean {
  if (command.includes('/')) return existsSync(hostPath(command, image));
  const path = (image.env?.PATH ?? DEFAULT_PATH).split(':');
  return path.some((dir) => existsSync(hostPath(join(dir, command), image)));
}

function hostPath(p: string, image: ImageSpec): string {
  for (const m of image.mounts ?? []) if (p === m.container || p.startsWith(`${m.container}/`)) return m.host + p.slice(m.container.length);
  return SYSTEM.some((d) => p === d || p.startsWith(`${d}/`)) ? p : '/nonexistent-outside-the-image';
}
