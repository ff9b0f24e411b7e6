/**
 * Writing git patches without git: git-style unified diff sections (`git diff --binary
 * --full-index` output, which `git apply` accepts) built from blobs and working-tree files, with
 * binary content as zlib-deflated base85 literals ("GIT binary patch"). Used whole by the
 * isomorphic-git capture; the CLI capture lets git write the diff and uses this for untracked
 * files and for sections it must re-emit.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export type ObjectFormat = 'sha1' | 'sha256';
export const EMPTY = Buffer.alloc(0);

export interface Side {
  mode: string;
  oid: string;
  bytes: Buffer;
}

export function blobId(bytes: Buffer, fmt: ObjectFormat): string {
  return createHash(fmt).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

export async function readWorktreeSide(full: string, fmt: ObjectFormat): Promise<Side | null> {
  const s = await lstat(full).catch(() => null);
  if (!s) return null;
  let bytes: Buffer;
  let mode: string;
  if (s.isSymbolicLink()) {
    bytes = await readlink(full, { encoding: 'buffer' });
    mode = '120000';
  } else if (s.isFile()) {
    bytes = await readFile(full);
    mode = s.mode & 0o100 ? '100755' : '100644'; // git records only the owner's execute bit
  } else {
    return null;
  }
  return { mode, oid: blobId(bytes, fmt), bytes };
}

/** git's test (a NUL in the first 8000 bytes), plus non-UTF-8, which a JS string cannot carry. */
function isBinary(b: Buffer): boolean {
  return b.subarray(0, 8000).includes(0) || !isUtf8(b);
}

/** git's quote_c_style with core.quotepath=off: only controls, `"` and `\` force quoting. */
function quotePath(p: string): string {
  if (!/[\x00-\x1f\x7f"\\]/.test(p)) return p;
  const esc: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 34: '"', 92: '\\' };
  const out: number[] = [];
  for (const byte of Buffer.from(p)) {
    const e = esc[byte];
    if (e !== undefined) out.push(92, e.charCodeAt(0));
    else if (byte < 0x20 || byte === 0x7f) for (const c of `\\${byte.toString(8).padStart(3, '0')}`) out.push(c.charCodeAt(0));
    else out.push(byte);
  }
  return `"${Buffer.from(out).toString('utf8')}"`;
}

export function gitlinkSection(path: string, from: string, to: string): string {
  const a = quotePath(`a/${path}`);
  const b = quotePath(`b/${path}`);
  return `diff --git ${a} ${b}\nindex ${from}..${to} 160000\n--- ${a}\n+++ ${b}\n@@ -1 +1 @@\n-Subproject commit ${from}\n+Subproject commit ${to}\n`;
}

/** One `git diff --binary --full-index`-style section; old null = created, new null = deleted. */
export function fileSection(path: string, old: Side | null, neu: Side | null, fmt: ObjectFormat): string {
  // git shows a file↔symlink switch as a deletion plus a creation.
  if (old && neu && (old.mode === '120000') !== (neu.mode === '120000')) {
    return fileSection(path, old, null, fmt) + fileSection(path, null, neu, fmt);
  }
  const a = quotePath(`a/${path}`);
  const b = quotePath(`b/${path}`);
  let out = `diff --git ${a} ${b}\n`;
  if (!old && neu) out += `new file mode ${neu.mode}\n`;
  else if (old && !neu) out += `deleted file mode ${old.mode}\n`;
  else if (old && neu && old.mode !== neu.mode) out += `old mode ${old.mode}\nnew mode ${neu.mode}\n`;
  if (old && neu && old.oid === neu.oid) return out;
  const zero = '0'.repeat(fmt === 'sha1' ? 40 : 64);
  const sameMode = old && neu && old.mode === neu.mode ? ` ${old.mode}` : '';
  out += `index ${old?.oid ?? zero}..${neu?.oid ?? zero}${sameMode}\n`;
  const ob = old?.bytes ?? EMPTY;
  const nb = neu?.bytes ?? EMPTY;
  if (ob.length === 0 && nb.length === 0) return out;
  if (isBinary(ob) || isBinary(nb)) return `${out}GIT binary patch\n${binaryLiteral(nb)}\n${binaryLiteral(ob)}\n`;
  // git appends a tab to ---/+++ names containing a space so `patch` can find the end.
  const tab = path.includes(' ') ? '\t' : '';
  out += `--- ${old ? a + tab : '/dev/null'}\n+++ ${neu ? b + tab : '/dev/null'}\n`;
  return out + textHunks(ob.toString('utf8'), nb.toString('utf8'));
}

/** Unified hunks with 3 lines of context, git's header conventions. */
function textHunks(oldText: string, newText: string): string {
  const lines = oldText === '' && newText !== '' ? addedLines(newText, '+') : newText === '' && oldText !== '' ? addedLines(oldText, '-') : null;
  if (lines) {
    // Whole-file creation or deletion: no diff needed.
    const n = lines.filter((l) => !l.startsWith('\\')).length;
    const range = n === 1 ? '1' : `1,${n}`;
    return `${oldText === '' ? `@@ -0,0 +${range} @@` : `@@ -${range} +0,0 @@`}\n${lines.join('\n')}\n`;
  }
  if (!diffLib) throw new Error('internal: diff library not loaded before building a patch');
  const patch = diffLib.structuredPatch('a', 'b', oldText, newText, undefined, undefined, { context: 3 });
  let out = '';
  for (const h of patch.hunks) {
    out += `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@\n${h.lines.join('\n')}\n`;
  }
  return out;
}

function range(start: number, count: number): string {
  if (count === 1) return `${start}`;
  return `${count === 0 ? start - 1 : start},${count}`;
}

function addedLines(text: string, sign: '+' | '-'): string[] {
  const parts = text.split('\n');
  const noEol = parts[parts.length - 1] !== '';
  if (!noEol) parts.pop();
  const out = parts.map((l) => sign + l);
  if (noEol) out.push('\\ No newline at end of file');
  return out;
}

// diff is needed only to build patches in the isomorphic path, which loads it before use;
// the CLI path only writes whole-file sections and never pays for the import.
let diffLib: typeof import('diff') | undefined;
export async function loadDiff(): Promise<void> {
  diffLib ??= await import('diff');
}

/** git's base85 alphabet (base85.c), used by binary patch literals. */
export const B85 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~';

/** One hunk of git's binary patch format: zlib-deflated bytes, base85 lines of ≤ 52 bytes. */
export function binaryLiteral(bytes: Buffer): string {
  const z = deflateSync(bytes);
  let out = `literal ${bytes.length}\n`;
  for (let i = 0; i < z.length; i += 52) {
    const chunk = z.subarray(i, i + 52);
    const n = chunk.length;
    out += String.fromCharCode(n <= 26 ? 64 + n : 96 + n - 26);
    for (let j = 0; j < n; j += 4) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc = acc * 256 + (chunk[j + k] ?? 0);
      let group = '';
      for (let k = 0; k < 5; k++) {
        group = B85[acc % 85] + group;
        acc = Math.floor(acc / 85);
      }
      out += group;
    }
    out += '\n';
  }
  return out;
}

/**
 * The path of a `diff --git a/P b/P` line, as git or quotePath wrote it (renames are never
 * produced, so both sides agree).
 */
export function pathFromDiffLine(line: string): string {
  const rest = line.slice('diff --git '.length);
  if (rest.startsWith('"')) return cUnquote(rest, 0).value.slice(2);
  // Unquoted names may contain spaces; "a/P b/P" has length 2|P| + 5.
  return rest.slice(2, 2 + (rest.length - 5) / 2);
}

function cUnquote(s: string, from: number): { value: string; end: number } {
  const bytes: number[] = [];
  const map: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  let i = from + 1;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === '\\') {
      const c = s[i + 1] ?? '';
      if (/[0-7]/.test(c)) {
        bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
        i += 4;
        continue;
      }
      bytes.push(map[c] ?? c.charCodeAt(0));
      i += 2;
    } else {
      const cp = s.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch));
      i += ch.length;
    }
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

/** The creation section of an untracked file, read from the working tree ('' when it is gone). */
export async function untrackedSection(top: string, path: string, fmt: ObjectFormat): Promise<string> {
  const side = await readWorktreeSide(join(top, path), fmt);
  // Gone since status listed it, or a socket/FIFO: nothing git could track either.
  if (!side) return '';
  return fileSection(path, null, side, fmt);
}
