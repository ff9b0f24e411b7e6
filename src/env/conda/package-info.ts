import { lstatSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type InstallContext, invalidPackage } from './errors.js';

export type PathType = 'hardlink' | 'softlink' | 'directory';
export type FileMode = 'text' | 'binary';

/** One path a package installs, as `info/paths.json` (or `info/files` + `info/has_prefix`) lists it. */
export interface PackagePath {
  /** Relative to the package root (before noarch python mapping). */
  path: string;
  type: PathType;
  placeholder?: string;
  mode?: FileMode;
  sha256?: string;
  size?: number;
}

/** A console script a `noarch: python` package asks for in `info/link.json`: `name = module:function`. */
export interface EntryPoint {
  name: string;
  module: string;
  func: string;
}

/** `info/index.json`: the package's own record (name, version, depends, noarch...). */
export interface PackageIndex {
  name: string;
  version: string;
  build: string;
  build_number?: number;
  depends?: string[];
  constrains?: string[];
  subdir?: string;
  noarch?: string | boolean;
  python_site_packages_path?: string;
  [key: string]: unknown;
}

export interface PackageInfo {
  index: PackageIndex;
  paths: PackagePath[];
  noarchPython: boolean;
  entryPoints: EntryPoint[];
  /** pre-/post-link scripts the package ships (conda would run them; flowrun refuses them). */
  linkScripts: string[];
}

/** The placeholder conda-build wrote before paths.json existed, used when has_prefix names none. */
export const LEGACY_PLACEHOLDER = '/opt/anaconda1anaconda2anaconda3';
const PATH_TYPES: readonly string[] = ['hardlink', 'softlink', 'directory'];

/**
 * Reads and checks the `info/` metadata of a package unpacked in `dir`: index.json (must name
 * the locked package), paths.json — or, for packages built before it existed, info/files and
 * info/has_prefix — and link.json. Every path listed must be a relative path inside the package
 * and exist in the archive with the size the metadata gives; anything else is ENV_PACKAGE_INVALID.
 */
export function readPackageInfo(dir: string, expect: { name: string; version: string; build: string }, c: InstallContext): PackageInfo {
  const index = readJson(dir, 'info/index.json', c) as PackageIndex | undefined;
  if (!index || typeof index !== 'object') throw invalidPackage(c, 'it has no info/index.json');
  if (index.name !== expect.name || String(index.version) !== expect.version || index.build !== expect.build) {
    throw invalidPackage(c, `its info/index.json says it is ${index.name}-${index.version}-${index.build}, not the locked ${expect.name}-${expect.version}-${expect.build}`);
  }
  const paths = readPaths(dir, c);
  for (const p of paths) checkPath(dir, p, c);
  const link = readJson(dir, 'info/link.json', c) as { noarch?: { type?: string; entry_points?: unknown } } | undefined;
  const noarchPython = index.noarch === 'python' || link?.noarch?.type === 'python';
  const entryPoints = noarchPython ? parseEntryPoints(link?.noarch?.entry_points, c) : [];
  const scripts = new Set(['pre-link', 'post-link'].flatMap((a) => [`bin/.${index.name}-${a}.sh`, `Scripts/.${index.name}-${a}.bat`]));
  return { index, paths, noarchPython, entryPoints, linkScripts: paths.filter((p) => scripts.has(p.path)).map((p) => p.path) };
}

function readJson(dir: string, rel: string, c: InstallContext): unknown {
  let text: string;
  try {
    text = readFileSync(join(dir, rel), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidPackage(c, `its ${rel} is not valid JSON (${(e as Error).message})`);
  }
}

function readPaths(dir: string, c: InstallContext): PackagePath[] {
  const doc = readJson(dir, 'info/paths.json', c) as { paths_version?: unknown; paths?: unknown } | undefined;
  if (doc === undefined) return legacyPaths(dir, c);
  if (typeof doc !== 'object' || doc === null || doc.paths_version !== 1 || !Array.isArray(doc.paths)) {
    throw invalidPackage(c, 'its info/paths.json is not a paths_version 1 document with a "paths" list');
  }
  return doc.paths.map((raw: unknown, i: number): PackagePath => {
    const e = raw as Record<string, unknown> | null;
    const bad = (why: string) => invalidPackage(c, `entry ${i} of its info/paths.json ${why}`);
    if (!e || typeof e !== 'object' || typeof e._path !== 'string' || e._path === '') throw bad('has no "_path"');
    if (typeof e.path_type !== 'string' || !PATH_TYPES.includes(e.path_type)) throw bad(`(${e._path}) has the path_type ${JSON.stringify(e.path_type)}`);
    if (e.prefix_placeholder !== undefined && (typeof e.prefix_placeholder !== 'string' || e.prefix_placeholder === '')) throw bad(`(${e._path}) has an empty prefix_placeholder`);
    if (e.file_mode !== undefined && e.file_mode !== 'text' && e.file_mode !== 'binary') throw bad(`(${e._path}) has the file_mode ${JSON.stringify(e.file_mode)}`);
    if (e.size_in_bytes !== undefined && (typeof e.size_in_bytes !== 'number' || e.size_in_bytes < 0)) throw bad(`(${e._path}) has a size_in_bytes that is not a size`);
    const p: PackagePath = { path: e._path, type: e.path_type as PathType };
    if (typeof e.prefix_placeholder === 'string') {
      p.placeholder = e.prefix_placeholder;
      p.mode = (e.file_mode as FileMode | undefined) ?? 'text';
    }
    if (typeof e.sha256 === 'string') p.sha256 = e.sha256;
    if (typeof e.size_in_bytes === 'number') p.size = e.size_in_bytes;
    return p;
  });
}

/** info/files lists the paths; info/has_prefix the ones with a placeholder: `placeholder mode path`, or just `path`. */
function legacyPaths(dir: string, c: InstallContext): PackagePath[] {
  let files: string;
  try {
    files = readFileSync(join(dir, 'info/files'), 'utf8');
  } catch {
    throw invalidPackage(c, 'it has neither info/paths.json nor info/files');
  }
  const prefixed = new Map<string, { placeholder: string; mode: FileMode }>();
  let hasPrefix = '';
  try {
    hasPrefix = readFileSync(join(dir, 'info/has_prefix'), 'utf8');
  } catch {
    /* nothing to relocate */
  }
  for (const line of hasPrefix
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const words = shellWords(line);
    if (words.length === 1) prefixed.set(words[0]!, { placeholder: LEGACY_PLACEHOLDER, mode: 'text' });
    else if (words.length === 3 && (words[1] === 'text' || words[1] === 'binary')) prefixed.set(words[2]!, { placeholder: words[0]!, mode: words[1] });
    else throw invalidPackage(c, `its info/has_prefix line ${JSON.stringify(line)} is neither "path" nor "placeholder text|binary path"`);
  }
  return files
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((path) => {
      let type: PathType = 'hardlink';
      try {
        const st = lstatSync(join(dir, path));
        type = st.isSymbolicLink() ? 'softlink' : st.isDirectory() ? 'directory' : 'hardlink';
      } catch {
        /* reported by checkPath */
      }
      return { path, type, ...prefixed.get(path) };
    });
}

/** has_prefix quotes paths with spaces the way a shell would. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

function checkPath(dir: string, p: PackagePath, c: InstallContext): void {
  const parts = p.path.split(/[\\/]/);
  if (p.path.includes('\0') || isAbsolute(p.path) || /^[a-zA-Z]:/.test(p.path) || parts.includes('..') || parts.includes('')) {
    throw invalidPackage(c, `its metadata lists the unsafe path ${JSON.stringify(p.path)}`);
  }
  if (parts[0] === 'info') throw invalidPackage(c, `its metadata lists ${p.path}, inside info/`);
  let st;
  try {
    st = lstatSync(join(dir, p.path));
  } catch {
    throw invalidPackage(c, `its metadata lists ${p.path}, which the archive does not contain`);
  }
  const actual: PathType = st.isSymbolicLink() ? 'softlink' : st.isDirectory() ? 'directory' : 'hardlink';
  if (actual !== p.type) throw invalidPackage(c, `its metadata says ${p.path} is a ${p.type}, but the archive has a ${actual}`);
  if (p.type === 'hardlink' && p.size !== undefined && st.size !== p.size) {
    throw invalidPackage(c, `its metadata gives ${p.path} ${p.size} bytes, but the archive has ${st.size}`);
  }
}

const ENTRY_POINT = /^\s*([A-Za-z0-9_.][A-Za-z0-9_.-]*)\s*=\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$/;

function parseEntryPoints(raw: unknown, c: InstallContext): EntryPoint[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidPackage(c, 'the entry_points of its info/link.json are not a list');
  return raw.map((text) => {
    const m = typeof text === 'string' ? ENTRY_POINT.exec(text) : null;
    if (!m) throw invalidPackage(c, `its info/link.json has the entry point ${JSON.stringify(text)}, not "name = module:function"`);
    return { name: m[1]!, module: m[2]!, func: m[3]! };
  });
}
