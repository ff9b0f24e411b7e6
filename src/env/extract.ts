import { mkdirSync, realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { pathProblem, safeExtract } from '../package/safe-extract.js';
import { formatBytes } from '../util/bytes.js';
import { DEFAULT_MAX_UNPACKED_BYTES, UnpackLimitError, bunzipBounded, unzipBounded, unzstdBounded } from './decompress.js';

/**
 * Extracts a conda package (`.tar.bz2`, or `.conda`: a zip holding `info-*.tar.zst` and
 * `pkg-*.tar.zst`) into a directory, as conda unpacks into its package cache: the files and
 * the `info/` metadata the linker reads, under safe-extract.ts's rules (nothing written outside
 * the directory, nor through a link). Returns the paths written, relative to it. The package
 * unpacks to at most `maxUnpackedBytes` (all its tars together), or nothing of it is written.
 */
export async function extractCondaPackage(archive: Uint8Array, fileName: string, dest: string, opts: { maxUnpackedBytes?: number } = {}): Promise<string[]> {
  const root = realpathSync(dest);
  const limit = opts.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  if (fileName.endsWith('.tar.bz2'))
    return extractTar(
      decoded(() => bunzipBounded(archive, limit), fileName, 'bzip2'),
      root,
      fileName,
    );
  if (fileName.endsWith('.conda')) {
    const entries = decoded(() => unzipBounded(archive, (name) => /^(info|pkg)-.*\.tar\.zst$/.test(name), limit), fileName, 'zip');
    // Every tar is unpacked (and so checked) before any is written, within one budget for the package.
    const tars: [string, Buffer][] = [];
    let left = limit;
    for (const [name, data] of Object.entries(entries)) {
      const tar = decoded(() => unzstdBounded(data, left), fileName, 'zstd', name);
      left -= tar.length;
      tars.push([name, tar]);
    }
    const files: string[] = [];
    for (const [name, tar] of tars) files.push(...(await extractTar(tar, root, `${fileName}:${name}`)));
    return files;
  }
  throw unsafe(fileName, 'is neither a .tar.bz2 nor a .conda archive');
}

/** A package whose compressed or tar data is damaged (it matched its sha256, so the channel published it so). */
export function corrupt(archive: string, what: string): FlowError {
  return new FlowError('ENV_PACKAGE_INVALID', `The conda package ${archive} ${what}; nothing of it is installed.`, {
    exitCode: ExitCode.remote,
    fix: 'The package is broken on the channel: pick another version or build of it (or report it to the channel).',
  });
}

function decoded<T>(f: () => T, archive: string, format: string, member?: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UnpackLimitError) throw tooBig(archive, e.limit);
    throw corrupt(member ? `${archive}:${member}` : archive, `is not valid ${format} data (${e instanceof Error ? e.message : String(e)})`);
  }
}

function tooBig(archive: string, limit: number): FlowError {
  return new FlowError('ENV_ARCHIVE_UNSAFE', `The conda package ${archive} unpacks to more than ${formatBytes(limit)}, flowrun's bound for one package; nothing of it is installed.`, {
    exitCode: ExitCode.remote,
    fix: "A small archive that unpacks this far is a decompression bomb: use a package from a trusted channel. A package really this large cannot be installed by flowrun's built-in installer yet.",
  });
}

export function unsafe(archive: string, what: string): FlowError {
  return new FlowError('ENV_ARCHIVE_UNSAFE', `The conda package ${archive} ${what}; nothing of it is installed.`, {
    exitCode: ExitCode.remote,
    fix: 'Use a package from a trusted channel; this archive would write outside the environment.',
  });
}

/** The absolute path of `rel` inside `root`, or an error for a path that would leave it. */
export function inside(root: string, rel: string, archive: string): string {
  if (pathProblem(rel, 'literal')) throw unsafe(archive, `contains the path ${JSON.stringify(rel)}`);
  const abs = resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + sep)) throw unsafe(archive, `contains the path ${JSON.stringify(rel)}`);
  return abs;
}

/** Creates `dir` and checks that its real path (after any symlinks the archive made) is still inside `root`. */
export function safeDir(root: string, dir: string, archive: string, rel: string): void {
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  if (real !== root && !real.startsWith(root + sep)) throw unsafe(archive, `writes ${JSON.stringify(rel)} through a link that leaves the environment`);
}

/**
 * One tar of a conda package, through the shared safe extraction: in-directory symlinks (a
 * package's lib/libfoo.so -> libfoo.so.1), setuid/setgid bits cleared as conda's own unpacking
 * leaves them harmless, never a write over a path an earlier tar of the package wrote.
 */
function extractTar(tar: Buffer, root: string, archive: string): string[] {
  return safeExtract(tar, root, {
    symlinks: 'confined',
    specialModes: 'mask',
    backslashes: 'literal',
    unsafe: (r) => unsafe(archive, r.kind === 'duplicate' ? `has "${r.entry}" twice: it ${r.reason}` : `has an entry "${r.entry}" that ${r.reason}`),
    corrupt: (e) => corrupt(archive, `is not a complete tar archive (${e instanceof Error ? e.message : String(e)})`),
  });
}
