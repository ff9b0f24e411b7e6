import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/cli.js';

// src/cli/stdout.ts writes the CLI's output to fd 1 in pieces of 64 Ki code units: every byte
// must arrive in order, whatever characters fall on a piece's edge and however the pipe behaves.
const PIECE = 1 << 16;
const SHIFTS = [0, 1, 2, 3];

/** A surrogate pair, a two-byte and a three-byte character across a piece's edge (shifted by 0-3 code units), then more pieces. */
const TEXT = `(shift) => 'a'.repeat(${PIECE} - 2 - shift) + '🚀🚀é€' + 'ü'.repeat(${PIECE}) + '🚀' + 'x'.repeat(${3 * PIECE}) + '\\n'`;
// The same source text runs here and in the child process (TEXT is sent to it), so both build identical strings.
// biome-ignore lint/complexity/noCommaOperator: indirect eval, in the global scope
// biome-ignore lint/security/noGlobalEval: evaluates the test's own constant source text, never input
const text = (0, eval)(TEXT) as (shift: number) => string;

let writer = '';
let parent = '';

beforeAll(() => {
  const dir = tempDir('flowrun-stdout-');
  writer = join(dir, 'writer.mjs');
  // Written in two calls, as a command writes its lines.
  writeFileSync(
    writer,
    `const { writeStdout } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'src', 'cli', 'stdout.js')).href)});
const t = (${TEXT})(Number(process.argv[2]));
writeStdout(t.slice(0, 10));
// 'bytes': the rest as a view into a larger buffer (at an offset), as the listing writes the run index's bytes.
if (process.argv[3] === 'bytes') writeStdout(Buffer.from('zz' + t.slice(10) + 'zz').subarray(2, -2));
else writeStdout(t.slice(10));
`,
  );
  // Sets O_NONBLOCK on the pipe it shares with its child (as some parents do), then runs the writer.
  parent = join(dir, 'parent.py');
  writeFileSync(
    parent,
    `import fcntl, os, subprocess, sys
fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)
sys.exit(subprocess.run([${JSON.stringify(process.execPath)}, ${JSON.stringify(writer)}, *sys.argv[1:]]).returncode)
`,
  );
});

describe.runIf(process.platform === 'linux')('CLI standard output written to the file descriptor', () => {
  it('keeps every character whole across piece edges (pipe)', async () => {
    for (const shift of SHIFTS) {
      const r = await execa(process.execPath, [writer, String(shift)], { stripFinalNewline: false, encoding: 'buffer' });
      expect(Buffer.from(r.stdout).equals(Buffer.from(text(shift))), `shift ${shift}`).toBe(true);
    }
  });

  it('hands what a full non-blocking pipe refused (EAGAIN) to the stream, in order', async () => {
    for (const shift of SHIFTS.slice(0, 2)) {
      // The shell's pipe (64 KiB) is read only after a pause: it fills, and a write fails with EAGAIN.
      const r = await execa('sh', ['-c', `python3 ${JSON.stringify(parent)} ${shift} | (sleep 1; cat)`], { stripFinalNewline: false, encoding: 'buffer', reject: false });
      expect(Buffer.from(r.stderr).toString()).toBe('');
      expect(Buffer.from(r.stdout).equals(Buffer.from(text(shift))), `shift ${shift}`).toBe(true);
    }
  });

  it('writes bytes (a view at an offset into a larger buffer) as they are, after text, in order (pipe)', async () => {
    const r = await execa(process.execPath, [writer, '1', 'bytes'], { stripFinalNewline: false, encoding: 'buffer' });
    expect(Buffer.from(r.stdout).equals(Buffer.from(text(1)))).toBe(true);
  });

  it('hands the bytes a full non-blocking pipe refused (EAGAIN) to the stream, in order', async () => {
    const r = await execa('sh', ['-c', `python3 ${JSON.stringify(parent)} 0 bytes | (sleep 1; cat)`], { stripFinalNewline: false, encoding: 'buffer', reject: false });
    expect(Buffer.from(r.stderr).toString()).toBe('');
    expect(Buffer.from(r.stdout).equals(Buffer.from(text(0)))).toBe(true);
  });
});
