import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { inside, safeDir, unsafe } from '../extract.js';
import type { InstallContext } from './errors.js';
import { ExitCode, FlowError } from '../../errors/index.js';
import type { PackageInfo, PackagePath } from './package-info.js';
import { replaceBinary, replaceText } from './placeholder.js';
import { type PythonInfo, entryPointScript, noarchPythonPath } from './python.js';

/** One entry of a conda-meta record's `paths_data.paths`, as conda writes it. */
export interface PrefixPath {
  _path: string;
  path_type: 'hardlink' | 'softlink' | 'directory' | 'pyc_file' | 'unix_python_entry_point';
  sha256?: string;
  sha256_in_prefix?: string;
  size_in_bytes?: number;
  file_mode?: 'text' | 'binary';
  prefix_placeholder?: string;
}

export interface LinkOptions {
  /** The environment (its real path). */
  prefix: string;
  /** Where the package is unpacked. */
  staging: string;
  /** Which package wrote each path so far: the later one wins a clash, with a warning naming both (conda's clobber). */
  owners: Map<string, string>;
  python?: PythonInfo;
  warn: (line: string) => void;
  ctx: InstallContext;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Links one unpacked package into the prefix the way conda does: every path its metadata lists
 * (noarch python ones mapped into the env's site-packages and bin), placeholders replaced with
 * the prefix (text: everywhere; binary: NUL-padded to the same length), links recreated only
 * when they stay inside the prefix, then the console scripts its link.json asks for. Files are
 * moved from the unpacked copy when nothing in them changes. Nothing is written outside the
 * prefix: each target is checked to be inside it, through its real parent directory.
 */
export function linkPackage(info: PackageInfo, o: LinkOptions): PrefixPath[] {
  const out: PrefixPath[] = [];
  for (const p of info.paths) {
    const target = info.noarchPython && o.python ? noarchPythonPath(p.path, o.python) : p.path;
    out.push(linkPath(p, target, o));
  }
  if (info.noarchPython && o.python) {
    for (const ep of info.entryPoints) {
      const target = `bin/${ep.name}`;
      const abs = prepareTarget(target, false, o);
      const data = Buffer.from(entryPointScript(ep, join(o.prefix, o.python.executable)));
      writeFileSync(abs, data, { flag: 'wx', mode: 0o755 });
      o.owners.set(target, o.ctx.pkg);
      out.push({ _path: target, path_type: 'unix_python_entry_point', sha256_in_prefix: sha(data), size_in_bytes: data.length });
    }
  }
  return out;
}

function linkPath(p: PackagePath, target: string, o: LinkOptions): PrefixPath {
  const src = join(o.staging, p.path);
  const abs = prepareTarget(target, p.type === 'directory', o);
  o.owners.set(target, o.ctx.pkg);
  if (p.type === 'directory') return { _path: target, path_type: 'directory' };
  if (p.type === 'softlink') {
    const link = readlinkSync(src);
    const resolved = resolve(dirname(abs), link);
    if (isAbsolute(link) || (resolved !== o.prefix && !resolved.startsWith(o.prefix + sep))) {
      throw unsafe(o.ctx.pkg, `links ${JSON.stringify(target)} outside the environment (${JSON.stringify(link)})`);
    }
    symlinkSync(link, abs);
    return { _path: target, path_type: 'softlink', ...(p.sha256 ? { sha256: p.sha256 } : {}), ...(p.size !== undefined ? { size_in_bytes: p.size } : {}) };
  }
  const mode = statSync(src).mode & 0o777;
  if (p.placeholder === undefined) {
    move(src, abs);
    return { _path: target, path_type: 'hardlink', ...(p.sha256 ? { sha256: p.sha256, sha256_in_prefix: p.sha256 } : {}), ...(p.size !== undefined ? { size_in_bytes: p.size } : {}) };
  }
  const original = readFileSync(src);
  let relocated: Buffer;
  try {
    relocated = p.mode === 'binary' ? replaceBinary(original, p.placeholder, o.prefix) : replaceText(original, p.placeholder, o.prefix);
  } catch (e) {
    if (e instanceof RangeError) throw prefixTooLong(o.ctx, target, p.placeholder, o.prefix);
    throw e;
  }
  writeFileSync(abs, relocated, { flag: 'wx', mode });
  return {
    _path: target,
    path_type: 'hardlink',
    sha256: p.sha256 ?? sha(original),
    sha256_in_prefix: sha(relocated),
    size_in_bytes: p.size ?? original.length,
    file_mode: p.mode ?? 'text',
    prefix_placeholder: p.placeholder,
  };
}

/**
 * The absolute path of `target` with its parent created inside the prefix. A path an earlier
 * package wrote is replaced (the later package in install order wins, as in conda) with a
 * warning naming both; a package's own directory entry over an existing directory is fine.
 */
function prepareTarget(target: string, isDir: boolean, o: LinkOptions): string {
  const abs = inside(o.prefix, target, o.ctx.pkg);
  safeDir(o.prefix, dirname(abs), o.ctx.pkg, target);
  let existing;
  try {
    existing = lstatSync(abs);
  } catch {
    existing = undefined;
  }
  if (isDir) {
    if (existing && !existing.isDirectory()) throw conflict(o, target, 'a directory', 'a file');
    safeDir(o.prefix, abs, o.ctx.pkg, target);
    return abs;
  }
  if (existing?.isDirectory()) throw conflict(o, target, 'a file', 'a directory');
  if (existing) {
    const earlier = o.owners.get(target) ?? 'an earlier package';
    o.warn(`warning: conda packages ${earlier} and ${o.ctx.pkg} both install ${target}; ${o.ctx.pkg} (later in install order) wins, as in conda (ClobberWarning)`);
    rmSync(abs);
  }
  return abs;
}

function move(src: string, dest: string): void {
  try {
    renameSync(src, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(src, dest, 1 /* COPYFILE_EXCL */);
  }
}

function conflict(o: LinkOptions, target: string, wants: string, has: string): FlowError {
  const earlier = o.owners.get(target) ?? 'an earlier package';
  return new FlowError('ENV_LINK_CONFLICT', `The conda package ${o.ctx.pkg} installs ${target} as ${wants}, but ${earlier} installed ${has} there; the environment of step ${o.ctx.steps.join(', ')} cannot hold both. Nothing was installed.`, {
    exitCode: ExitCode.remote,
    step: o.ctx.steps[0],
    fix: 'These packages cannot be installed together: pin another version of one of them.',
    data: { package: o.ctx.pkg, path: target },
  });
}

/** A binary placeholder shorter than the prefix: the path cannot be patched in without moving bytes. */
export function prefixTooLong(c: InstallContext, path: string, placeholder: string, prefix: string): FlowError {
  const limit = Buffer.byteLength(placeholder);
  return new FlowError('ENV_PREFIX_TOO_LONG', `The conda package ${c.pkg} has a binary file (${path}) that can hold an install path of at most ${limit} bytes, but the environment of step ${c.steps.join(', ')} is at ${prefix} (${Buffer.byteLength(prefix)} bytes). Nothing was installed.`, {
    exitCode: ExitCode.remote,
    step: c.steps[0],
    data: { package: c.pkg, path, limit, prefixLength: Buffer.byteLength(prefix) },
    fix: `Set FLOW_CACHE_DIR to a shorter directory (the environment lives at <FLOW_CACHE_DIR>/conda/<lock hash>, which must stay within ${limit} bytes), or use a build of the package made with a longer placeholder (conda-forge uses 255).`,
  });
}
