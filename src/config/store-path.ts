/**
 * Which store directories are refused: the store is written to (runs, objects) and `flow gc`
 * deletes inside it, so it must never be a folder that holds the project itself or a folder
 * the system or other programs own. `store: "/"` would make gc walk the whole disk, and a
 * store around the project would be packaged into every code package.
 */
import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';

/** Folders that belong to the system or to every user, never to one project's store. */
const SYSTEM_FOLDERS = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/snap',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/local/bin',
  '/usr/local/lib',
  '/usr/sbin',
  '/usr/share',
  '/var',
  '/var/lib',
  '/var/log',
  '/var/tmp',
  '/nix',
  // macOS
  '/Applications',
  '/Library',
  '/System',
  '/Users',
  '/Volumes',
  '/private',
  '/private/etc',
  '/private/tmp',
  '/private/var',
  '/cores',
];

/** True when `outer` is `inner` or one of its ancestors. */
export function contains(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `p`, resolving symlinks in the part of it that exists. */
export function realPathOf(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPathOf(parent), basename(abs));
  }
}

function systemFolders(): Set<string> {
  const out = new Set(SYSTEM_FOLDERS);
  for (const d of [homedir(), tmpdir()])
    if (d) {
      out.add(resolve(d));
      out.add(realPathOf(d));
    }
  return out;
}

/**
 * Throws CONFIG_INVALID when `store` (an absolute directory) contains the project root or is a
 * system folder. `source` names where the value came from (the .flowrc or FLOW_STORE).
 */
export function checkStorePath(store: string, projectRoot: string, source: string): void {
  const real = realPathOf(store);
  const realRoot = realPathOf(projectRoot);
  const shown = real === store ? store : `${store} (${real})`;
  if (contains(store, projectRoot) || contains(real, realRoot)) {
    throw new ConfigError(`${source}: the store ${shown} contains the project ${projectRoot}, so every run would store (and package) the project into itself, and flow gc would delete in it.`, {
      key: 'store',
      file: source.startsWith('FLOW_STORE') ? undefined : source,
      fix: 'Use a folder of its own, e.g. "store": ".flow" (the default), or a folder outside the project.',
    });
  }
  const system = systemFolders();
  if (system.has(resolve(store)) || system.has(real) || /^[A-Za-z]:[\\/]?$/.test(store)) {
    throw new ConfigError(`${source}: the store ${shown} is a system or shared folder; flowrun writes runs into its store and flow gc deletes in it.`, {
      key: 'store',
      file: source.startsWith('FLOW_STORE') ? undefined : source,
      fix: 'Use a folder of its own, e.g. "store": ".flow" (the default) or a dedicated folder such as ~/flow-store.',
    });
  }
}
