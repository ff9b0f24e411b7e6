import { chmodSync, linkSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';
import { decompress as zstdDecompress } from 'fzstd';
import bunzip from 'seek-bzip';
import { Parser, type ReadEntry } from 'tar';
import { ExitCode, FlowError } from '../errors/index.js';

/**
 * Extracts a conda package (`.tar.bz2`, or `.conda`: a zip holding `info-*.tar.zst` and
 * `pkg-*.tar.zst`) into a directory, as conda unpacks into its package cache: the files and
 * the `info/` metadata the linker reads. Nothing is written outside the directory: absolute
 * paths, `..` segments, and links whose target leaves it are rejected, and every write goes to
 * a directory whose real path is inside it. Returns the paths written, relative to it.
 */
export async function extractCondaPackage(archive: Uint8Array, fileName: string, dest: string): Promise<string[]> {
  const root = realpathSync(dest);
  if (fileName.endsWith('.tar.bz2')) return extractTar(Buffer.from(decoded(() => bunzip.decode(Buffer.from(archive)), fileName, 'bzip2')), root, fileName);
  if (fileName.endsWith('.conda')) {
    const entries = decoded(() => unzipSync(archive, { filter: (f) => /^(info|pkg)-.*\.tar\.zst$/.test(f.name) }), fileName, 'zip');
    const files: string[] = [];
    for (const [name, data] of Object.entries(entries)) files.push(...await extractTar(Buffer.from(decoded(() => zstdDecompress(data), `${fileName}:${name}`, 'zstd')), root, `${fileName}:${name}`));
    return files;
  }
  throw unsafe(fileName, 'is neither a .tar.bz2 nor a .conda archive');
}

/** A package whose compressed or tar data is damaged (it matched its sha256, so the channel published it so). */
export function corrupt(archive: string, what: string): FlowError {
  return new FlowError('ENV_PACKAGE_INVALID', `The conda package ${archive} ${what}; nothing of it is installed.`, {
    exitCode: ExitCode.remote, fix: 'The package is broken on the channel: pick another version or build of it (or report it to the channel).',
  });
}

function decoded<T>(f: () => T, archive: string, format: string): T {
  try { return f(); } catch (e) { throw corrupt(archive, `is not valid ${format} data (${e instanceof Error ? e.message : String(e)})`); }
}

export function unsafe(archive: string, what: string): FlowError {
  return new FlowError('ENV_ARCHIVE_UNSAFE', `The conda package ${archive} ${what}; nothing of it is installed.`, {
    exitCode: ExitCode.remote, fix: 'Use a package from a trusted channel; this archive would write outside the environment.',
  });
}

/** The absolute path of `rel` inside `root`, or an error for a path that would leave it. */
export function inside(root: string, rel: string, archive: string): string {
  const parts = rel.split(/[\\/]/);
  if (rel.includes('\0') || isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || parts.includes('..')) throw unsafe(archive, `contains the path ${JSON.stringify(rel)}`);
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

async function extractTar(tar: Buffer, root: string, archive: string): Promise<string[]> {
  const written: string[] = [];
  let failure: unknown;
  const onEntry = (entry: ReadEntry) => {
    const rel = entry.path.replace(/^\.\//, '').replace(/\/$/, '');
    if (failure || rel === '') { entry.resume(); return; }
    try {
      const abs = inside(root, rel, archive);
      if (entry.type === 'Directory') { safeDir(root, abs, archive, rel); entry.resume(); return; }
      safeDir(root, dirname(abs), archive, rel);
      if (entry.type === 'SymbolicLink') {
        const target = entry.linkpath ?? '';
        if (isAbsolute(target)) throw unsafe(archive, `links ${JSON.stringify(rel)} to the absolute path ${JSON.stringify(target)}`);
        const resolved = resolve(dirname(abs), target);
        if (resolved !== root && !resolved.startsWith(root + sep)) throw unsafe(archive, `links ${JSON.stringify(rel)} outside the environment (${JSON.stringify(target)})`);
        symlinkSync(target, abs);
        written.push(rel);
        entry.resume();
        return;
      }
      if (entry.type === 'Link') {
        linkSync(inside(root, entry.linkpath ?? '', archive), abs);
        written.push(rel);
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') { entry.resume(); return; }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        if (failure) return;
        try {
          const data = Buffer.concat(chunks);
          if (data.length !== entry.size) { failure = corrupt(archive, `is truncated: ${JSON.stringify(rel)} has ${data.length} of its ${entry.size} bytes`); return; }
          writeFileSync(abs, data, { flag: 'wx' });
          chmodSync(abs, (entry.mode ?? 0o644) & 0o777);
          written.push(rel);
        } catch (e) {
          // Never overwrite: a second entry for a path (or a file after a link of that name) would write through it.
          failure = (e as NodeJS.ErrnoException).code === 'EEXIST' ? unsafe(archive, `has ${JSON.stringify(rel)} twice`) : e;
        }
      });
    } catch (e) {
      failure = e;
      entry.resume();
    }
  };
  await new Promise<void>((ok, fail) => {
    // strict: a truncated or malformed archive is an error, not a warning with a partial file.
    const parser = new Parser({ onReadEntry: onEntry, strict: true });
    parser.on('end', () => ok());
    parser.on('error', (e: Error) => fail(failure ?? corrupt(archive, `is not a complete tar archive (${e.message})`)));
    parser.end(tar);
  });
  if (failure) throw failure;
  return written;
}
