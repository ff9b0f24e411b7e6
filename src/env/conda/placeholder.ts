import { platform } from 'node:os';

/** conda's limit for a shebang line: the Linux kernel used to cut it at 127 bytes (BINPRM_BUF_SIZE 128). */
export const MAX_SHEBANG_LENGTH = platform() === 'linux' ? 127 : 512;

/** Text mode: every occurrence of the placeholder becomes the prefix, then conda's long-shebang rule applies. */
export function replaceText(data: Buffer, placeholder: string, prefix: string): Buffer {
  return replaceLongShebang(replaceAll(data, Buffer.from(placeholder), Buffer.from(prefix)));
}

/**
 * Binary mode, as conda does it: each C string (up to its NUL) that contains the placeholder
 * gets every occurrence replaced by the prefix and is padded with NULs to its old length, so
 * offsets in the binary do not move. A prefix longer than the placeholder cannot fit: the
 * caller checks that before linking (`paddingFits`). A placeholder with no NUL after it is
 * not a C string and is left alone, as conda leaves it.
 */
export function replaceBinary(data: Buffer, placeholder: string, prefix: string): Buffer {
  const search = Buffer.from(placeholder);
  const replacement = Buffer.from(prefix);
  if (replacement.length > search.length) throw new RangeError(`prefix longer than the placeholder (${replacement.length} > ${search.length} bytes)`);
  const out = Buffer.from(data);
  let at = out.indexOf(search);
  while (at !== -1) {
    const end = out.indexOf(0, at + search.length);
    if (end === -1) break;
    const cString = out.subarray(at, end);
    const replaced = replaceAll(cString, search, replacement);
    replaced.copy(out, at);
    out.fill(0, at + replaced.length, end);
    at = out.indexOf(search, end + 1);
  }
  return out;
}

/** Whether a binary placeholder has room for the prefix (bytes, as the file stores them). */
export function paddingFits(placeholder: string, prefix: string): boolean {
  return Buffer.byteLength(prefix) <= Buffer.byteLength(placeholder);
}

function replaceAll(data: Buffer, search: Buffer, replacement: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = data.indexOf(search); at !== -1; at = data.indexOf(search, from)) {
    parts.push(data.subarray(from, at), replacement);
    from = at + search.length;
  }
  if (from === 0) return data;
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

/**
 * conda's rule for a first line `#!/very/long/prefix/bin/python3.11 -u` longer than the kernel
 * reads (or with an escaped space): it becomes `#!/usr/bin/env python3.11 -u`, which finds the
 * same interpreter through PATH (the step runs with the env's bin first on PATH).
 */
export function replaceLongShebang(data: Buffer): Buffer {
  if (data[0] !== 0x23 || data[1] !== 0x21) return data;
  const eol = data.indexOf(0x0a);
  const line = data
    .subarray(0, eol === -1 ? data.length : eol)
    .toString('utf8')
    .replace(/\r$/, '');
  const m = /^#! *(\/(?:\\ |[^ \t\r\n])*)(.*)$/.exec(line);
  if (!m) return data;
  const [, executable, options] = m as unknown as [string, string, string];
  const slash = executable.lastIndexOf('/');
  const dir = executable.slice(0, slash);
  if (Buffer.byteLength(line) <= MAX_SHEBANG_LENGTH && !dir.includes('\\ ')) return data;
  return Buffer.concat([Buffer.from(`#!/usr/bin/env ${executable.slice(slash + 1)}${options}`), data.subarray(Buffer.byteLength(line))]);
}
