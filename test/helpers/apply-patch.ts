/**
 * Applies a patch that captureGit recorded, as the tests rebuild a dirty tree to check it: with
 * `git apply`, or with the pure-JavaScript applier below when git is missing. Both check each
 * result against the object id the patch records, so a rebuilt tree is verified byte for byte.
 * flowrun itself never applies a patch (a run's code package holds its files), so this lives
 * with the tests.
 */
import { chmod, lstat, mkdir, readFile, readlink, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { GitOptions } from '../../src/git/git.js';
import { B85, blobId, EMPTY, pathFromDiffLine } from '../../src/git/patch-write.js';
import { GitMissing, runGit } from '../../src/git/run-git.js';

/**
 * Rebuild a dirty tree: apply a GitState patch to `dir`, which holds a clean checkout of the
 * recorded commit (e.g. `git archive` output), or is empty when the commit was null.
 */
export async function applyPatch(dir: string, patch: string, opts: Pick<GitOptions, 'impl'> = {}): Promise<void> {
  const root = resolve(dir);
  if (opts.impl !== 'isomorphic') {
    try {
      await applyCli(root, patch);
      return;
    } catch (err) {
      if (!(err instanceof GitMissing) || opts.impl === 'cli') throw err;
    }
  }
  await applyJs(root, patch);
}

async function applyCli(dir: string, patch: string): Promise<void> {
  if (patch === '') return;
  // The ceiling stops git from finding a repository *around* dir, which would make it apply
  // paths relative to that repository's top level (and silently skip the rest).
  const run = await runGit(dir, ['apply', '--whitespace=nowarn', '--binary', '-p1', '-'], {
    input: patch,
    env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
  });
  if (run.code !== 0) {
    throw patchError(run.stderr.trim().split('\n').slice(0, 3).join(' '), dir);
  }
}

interface Hunk {
  oldStart: number;
  oldLines: number;
  oldSide: string[];
  newSide: string[];
}
interface FilePatch {
  path: string;
  created: boolean;
  deleted: boolean;
  newMode?: string;
  newOid?: string;
  gitlink: boolean;
  hunks: Hunk[];
  binary?: { kind: 'literal' | 'delta'; size: number; data: Buffer };
}

/** Shaped like the FlowError the tests assert on (`code`); src never applies a patch, so the code is not catalogued. */
class PatchFailed extends Error {
  readonly code = 'GIT_PATCH_FAILED';
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'PatchFailed';
  }
}

function patchError(msg: string, path?: string): PatchFailed {
  return new PatchFailed(`The recorded git patch does not apply${path ? ` to ${path}` : ''}: ${msg}`, path);
}

function parsePatch(patch: string): FilePatch[] {
  const lines = patch.split('\n');
  const files: FilePatch[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.startsWith('diff --git ')) {
      i++;
      continue;
    }
    const fp: FilePatch = { path: pathFromDiffLine(line), created: false, deleted: false, gitlink: false, hunks: [] };
    i++;
    for (; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.startsWith('diff --git ')) break;
      let m: RegExpExecArray | null;
      if ((m = /^new file mode (\d+)$/.exec(l))) {
        fp.created = true;
        fp.newMode = m[1];
      } else if (/^deleted file mode /.test(l)) fp.deleted = true;
      else if ((m = /^new mode (\d+)$/.exec(l))) fp.newMode = m[1];
      else if ((m = /^index [0-9a-f]+\.\.([0-9a-f]+)(?: (\d+))?$/.exec(l))) {
        fp.newOid = m[1];
        if (m[2] === '160000') fp.gitlink = true;
      } else if (/^(rename|copy) (from|to) /.test(l)) throw patchError('renames and copies are not supported', fp.path);
      else if (l.startsWith('Binary files ')) throw patchError('the patch has no binary data (made without --binary)', fp.path);
      else if (l === 'GIT binary patch') {
        const m2 = /^(literal|delta) (\d+)$/.exec(lines[i + 1] ?? '');
        if (!m2) throw patchError('malformed binary patch', fp.path);
        const encoded: string[] = [];
        for (i += 2; i < lines.length && lines[i] !== ''; i++) encoded.push(lines[i]!);
        fp.binary = { kind: m2[1] as 'literal' | 'delta', size: Number(m2[2]), data: inflateSync(decode85(encoded)) };
        // The reverse hunk, if present, is only needed to undo the patch.
        if (/^(literal|delta) \d+$/.test(lines[i + 1] ?? '')) for (i += 1; i < lines.length && lines[i] !== ''; i++);
      } else if ((m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l))) {
        const h: Hunk = { oldStart: Number(m[1]), oldLines: m[2] === undefined ? 1 : Number(m[2]), oldSide: [], newSide: [] };
        let oldLeft = h.oldLines;
        let newLeft = m[4] === undefined ? 1 : Number(m[4]);
        let last = ' ';
        // Counting lines rather than looking for the next header: a content line may look like one.
        while (oldLeft > 0 || newLeft > 0 || lines[i + 1]?.startsWith('\\')) {
          i++;
          const c = lines[i];
          if (c === undefined) throw patchError('hunk is truncated', fp.path);
          const tag = c === '' ? ' ' : c[0];
          // Lines are kept as Latin-1 strings so unchanged non-UTF-8 bytes of the file survive.
          const text = Buffer.from(c.slice(1), 'utf8').toString('latin1');
          if (tag === '\\') {
            const strip = (arr: string[]) => {
              const k = arr.length - 1;
              if (k >= 0) arr[k] = arr[k]!.replace(/\n$/, '');
            };
            if (last !== '+') strip(h.oldSide);
            if (last !== '-') strip(h.newSide);
            continue;
          }
          if (tag === ' ') {
            h.oldSide.push(`${text}\n`);
            h.newSide.push(`${text}\n`);
            oldLeft--;
            newLeft--;
          } else if (tag === '-') {
            h.oldSide.push(`${text}\n`);
            oldLeft--;
          } else if (tag === '+') {
            h.newSide.push(`${text}\n`);
            newLeft--;
          } else throw patchError(`unexpected line in hunk: ${c.slice(0, 40)}`, fp.path);
          last = tag;
        }
        fp.hunks.push(h);
      }
    }
    files.push(fp);
  }
  return files;
}

const B85_INDEX = new Map([...B85].map((c, i) => [c, i] as const));

function decode85(lines: string[]): Buffer {
  const out: number[] = [];
  for (const line of lines) {
    const c0 = line.charCodeAt(0);
    const len = c0 >= 65 && c0 <= 90 ? c0 - 64 : c0 - 96 + 26;
    const bytes: number[] = [];
    for (let j = 1; j < line.length; j += 5) {
      let acc = 0;
      for (let k = 0; k < 5; k++) {
        const v = B85_INDEX.get(line[j + k] ?? '');
        if (v === undefined) throw patchError('bad base85 data');
        acc = acc * 85 + v;
      }
      bytes.push(Math.floor(acc / 2 ** 24) & 255, (acc >>> 16) & 255, (acc >>> 8) & 255, acc & 255);
    }
    out.push(...bytes.slice(0, len));
  }
  return Buffer.from(out);
}

/** git's delta format (patch-delta.c): sizes, then copy-from-base and insert instructions. */
function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let p = 0;
  const varint = (): number => {
    let r = 0;
    let mul = 1;
    let b: number;
    do {
      b = delta[p++] ?? 0;
      r += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return r;
  };
  if (varint() !== base.length) throw patchError('binary delta was made against different content');
  const out = Buffer.alloc(varint());
  let o = 0;
  while (p < delta.length) {
    const cmd = delta[p++]!;
    if (cmd & 0x80) {
      let off = 0;
      let size = 0;
      for (let k = 0; k < 4; k++) if (cmd & (1 << k)) off += (delta[p++] ?? 0) * 2 ** (8 * k);
      for (let k = 0; k < 3; k++) if (cmd & (0x10 << k)) size += (delta[p++] ?? 0) * 2 ** (8 * k);
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > out.length) throw patchError('binary delta is corrupt');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (cmd !== 0) {
      if (o + cmd > out.length) throw patchError('binary delta is corrupt');
      delta.copy(out, o, p, p + cmd);
      o += cmd;
      p += cmd;
    } else {
      throw patchError('binary delta is corrupt');
    }
  }
  if (o !== out.length) throw patchError('binary delta is corrupt');
  return out;
}

function applyHunks(old: Buffer, hunks: Hunk[], path: string): Buffer {
  const lines = old.toString('latin1').match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const out: string[] = [];
  let pos = 0;
  for (const h of hunks) {
    // The recorded commit is exact, so hunks must match where they say: no fuzz, no offsets.
    const start = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    if (start < pos || start > lines.length) throw patchError(`hunk at line ${h.oldStart} is out of place`, path);
    for (; pos < start; pos++) out.push(lines[pos]!);
    for (const expected of h.oldSide) {
      if (lines[pos] !== expected) throw patchError(`line ${pos + 1} differs from the recorded commit`, path);
      pos++;
    }
    out.push(...h.newSide);
  }
  for (; pos < lines.length; pos++) out.push(lines[pos]!);
  return Buffer.from(out.join(''), 'latin1');
}

function safeTarget(dir: string, path: string): string {
  const full = resolve(dir, path);
  if (path === '' || path.startsWith('/') || path.split('/').includes('..') || !full.startsWith(dir + sep)) {
    throw patchError(`refusing to write outside the tree: ${path}`, path);
  }
  return full;
}

async function applyJs(dir: string, patch: string): Promise<void> {
  for (const fp of parsePatch(patch)) {
    // Submodule commits are recorded for information; their trees are not in this checkout.
    if (fp.gitlink || fp.newMode === '160000') continue;
    const full = safeTarget(dir, fp.path);
    if (fp.deleted) {
      await rm(full, { force: true });
      // Like git apply: directories emptied by a deletion go too.
      for (let d = dirname(full); d !== dir && d.startsWith(dir + sep); d = dirname(d)) {
        if (
          !(await rmdir(d).then(
            () => true,
            () => false,
          ))
        )
          break;
      }
      continue;
    }
    const existing = fp.created ? null : await lstat(full).catch(() => null);
    if (!fp.created && !existing) throw patchError('the file is missing from the checkout', fp.path);
    const oldBytes = !existing ? EMPTY : existing.isSymbolicLink() ? await readlink(full, { encoding: 'buffer' }) : await readFile(full);
    let bytes: Buffer = oldBytes;
    if (fp.binary) {
      bytes = fp.binary.kind === 'literal' ? fp.binary.data : applyDelta(oldBytes, fp.binary.data);
      if (fp.binary.kind === 'literal' && bytes.length !== fp.binary.size) throw patchError('binary literal has the wrong size', fp.path);
    } else if (fp.hunks.length > 0) {
      bytes = applyHunks(oldBytes, fp.hunks, fp.path);
    }
    // Full object ids let every result be checked, text included: the rebuild is exact or fails.
    if (fp.newOid && (fp.newOid.length === 40 || fp.newOid.length === 64) && !/^0+$/.test(fp.newOid)) {
      const got = blobId(bytes, fp.newOid.length === 40 ? 'sha1' : 'sha256');
      if (got !== fp.newOid) throw patchError(`result does not match the recorded content (${got} ≠ ${fp.newOid})`, fp.path);
    }
    const mode = fp.newMode ?? (existing?.isSymbolicLink() ? '120000' : existing && existing.mode & 0o100 ? '100755' : '100644');
    await mkdir(dirname(full), { recursive: true });
    if (existing && (mode === '120000' || existing.isSymbolicLink())) await rm(full, { force: true });
    if (mode === '120000') {
      await symlink(bytes.toString('utf8'), full);
    } else {
      await writeFile(full, bytes);
      await chmod(full, mode === '100755' ? 0o755 : 0o644);
    }
  }
}
