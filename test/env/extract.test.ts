import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { zipSync } from 'fflate';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractCondaPackage } from '../../src/env/extract.js';
import { rawTar } from '../helpers/conda-channel.js';
import { tempDir } from '../helpers/cli.js';

const bz2 = (tar: Buffer) => execFileSync('bzip2', ['-c'], { input: tar });

describe('conda archive extraction', () => {
  it('writes files with their modes, in-directory links, and info/ (the linker reads it)', async () => {
    const prefix = tempDir();
    const files = await extractCondaPackage(
      bz2(
        rawTar([
          { path: 'info/index.json', data: '{}' },
          { path: 'bin/tool', data: '#!/bin/sh\n', mode: 0o755 },
          { path: 'lib/link', symlink: '../bin/tool' },
        ]),
      ),
      'x-1-0.tar.bz2',
      prefix,
    );
    expect(files.sort()).toEqual(['bin/tool', 'info/index.json', 'lib/link']);
    expect(statSync(join(prefix, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(prefix, 'lib/link'))).toBe('../bin/tool');
    expect(readFileSync(join(prefix, 'info/index.json'), 'utf8')).toBe('{}');
  });

  it.each([
    ['an absolute path', [{ path: '/tmp/flowrun-abs-escape', data: 'x' }]],
    ['a ../ path', [{ path: 'a/../../escape', data: 'x' }]],
    ['an absolute link target', [{ path: 'l', symlink: '/etc' }]],
    ['a link climbing out', [{ path: 'a/l', symlink: '../../..' }]],
  ])('rejects %s (ENV_ARCHIVE_UNSAFE)', async (_what, entries) => {
    const prefix = tempDir();
    await expect(extractCondaPackage(bz2(rawTar(entries)), 'bad-1-0.tar.bz2', prefix)).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE' });
    expect(existsSync('/tmp/flowrun-abs-escape')).toBe(false);
    expect(existsSync(join(prefix, '..', 'escape'))).toBe(false);
  });

  it('refuses to write onto an existing path, so never through a symlink an earlier entry made (ENV_ARCHIVE_UNSAFE)', async () => {
    const prefix = tempDir();
    await extractCondaPackage(bz2(rawTar([{ path: 'bin/a', data: 'first' }])), 'a-1-0.tar.bz2', prefix);
    await expect(extractCondaPackage(bz2(rawTar([{ path: 'bin/a', data: 'second' }])), 'b-1-0.tar.bz2', prefix)).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE', message: expect.stringContaining('"bin/a" twice') });
    await expect(
      extractCondaPackage(
        bz2(
          rawTar([
            { path: 'bin/b', symlink: 'a' },
            { path: 'bin/b', data: 'through the link' },
          ]),
        ),
        'c-1-0.tar.bz2',
        prefix,
      ),
    ).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE' });
    expect(readFileSync(join(prefix, 'bin/a'), 'utf8')).toBe('first');
    expect(lstatSync(join(prefix, 'bin/a')).isFile()).toBe(true);
  });
});

describe('conda archive integrity', () => {
  it('a truncated tar or damaged compression is ENV_PACKAGE_INVALID, not a partial file', async () => {
    const dir = tempDir();
    const tar = rawTar([{ path: 'bin/tool', data: 'x'.repeat(3000) }]);
    await expect(extractCondaPackage(bz2(tar.subarray(0, 1500)), 't-1-0.tar.bz2', dir)).rejects.toMatchObject({ code: 'ENV_PACKAGE_INVALID', message: expect.stringContaining('not a complete tar archive') });
    expect(existsSync(join(dir, 'bin/tool'))).toBe(false);
    await expect(extractCondaPackage(Buffer.from('BZh91AY&SYnot bzip2'), 'b-1-0.tar.bz2', tempDir())).rejects.toMatchObject({ code: 'ENV_PACKAGE_INVALID', message: expect.stringContaining('not valid bzip2 data') });
    await expect(extractCondaPackage(Buffer.from('PK not a zip'), 'c-1-0.conda', tempDir())).rejects.toMatchObject({ code: 'ENV_PACKAGE_INVALID' });
  });
});

/** A zstd frame of raw blocks (stored), or of one repeated byte (RLE blocks): no compressor needed. */
function zstdFrame(blocks: { raw: Buffer } | { rle: number; bytes: number }): Buffer {
  const MAX = 128 * 1024;
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3]); // magic, no content size, 128 KiB window
  const parts: Buffer[] = [header];
  const total = 'raw' in blocks ? blocks.raw.length : blocks.bytes;
  for (let at = 0; at < total || at === 0; at += MAX) {
    const size = Math.min(MAX, total - at);
    const last = at + MAX >= total ? 1 : 0;
    const type = 'raw' in blocks ? 0 : 1;
    const h = last | (type << 1) | (size << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]));
    parts.push('raw' in blocks ? blocks.raw.subarray(at, at + size) : Buffer.from([blocks.rle]));
    if (total === 0) break;
  }
  return Buffer.concat(parts);
}

const condaOf = (members: Record<string, Buffer>, level: 0 | 9 = 0) => Buffer.from(zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [k, [new Uint8Array(v), { level }]]))));

describe('conda archive size bound (decompression bombs)', () => {
  const MiB = 1024 * 1024;

  it('a .conda of zstd tars installs; the same package past the bound is refused whole', async () => {
    const info = rawTar([{ path: 'info/index.json', data: '{}' }]);
    const pkg = rawTar([{ path: 'lib/data.bin', data: 'y'.repeat(700 * 1024) }]);
    const archive = condaOf({ 'info-p-1-0.tar.zst': zstdFrame({ raw: info }), 'pkg-p-1-0.tar.zst': zstdFrame({ raw: pkg }) });
    const ok = tempDir();
    expect((await extractCondaPackage(archive, 'p-1-0.conda', ok, { maxUnpackedBytes: MiB })).sort()).toEqual(['info/index.json', 'lib/data.bin']);
    // Each tar alone fits the bound, both together do not: one budget for the package, checked before anything is written.
    const bound = pkg.length + 1024;
    expect(info.length).toBeGreaterThan(1024);
    const refused = tempDir();
    await expect(extractCondaPackage(archive, 'p-1-0.conda', refused, { maxUnpackedBytes: bound })).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE', message: expect.stringContaining('p-1-0.conda unpacks to more than ') });
    expect(readdirSync(refused)).toEqual([]);
  });

  it('a zstd bomb (RLE blocks: 4 bytes per 128 KiB) stops at the bound', async () => {
    const bomb = condaOf({ 'pkg-b-1-0.tar.zst': zstdFrame({ rle: 0, bytes: 64 * MiB }) });
    expect(bomb.length).toBeLessThan(4096);
    const dir = tempDir();
    await expect(extractCondaPackage(bomb, 'b-1-0.conda', dir, { maxUnpackedBytes: MiB })).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE', message: expect.stringContaining('unpacks to more than 1.0 MiB') });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a zip member declaring more than the bound is refused before it is inflated', async () => {
    const bomb = condaOf({ 'pkg-d-1-0.tar.zst': Buffer.alloc(8 * MiB) }, 9);
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(extractCondaPackage(bomb, 'd-1-0.conda', tempDir(), { maxUnpackedBytes: MiB })).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE', message: expect.stringContaining('d-1-0.conda unpacks to more than 1.0 MiB') });
  });

  it('a bzip2 bomb stops at the bound; a package of several bzip2 streams unpacks whole, as bzip2 -d does', async () => {
    const dir = tempDir();
    await expect(extractCondaPackage(bz2(Buffer.alloc(8 * MiB)), 'z-1-0.tar.bz2', dir, { maxUnpackedBytes: MiB })).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE', message: expect.stringContaining('z-1-0.tar.bz2 unpacks to more than 1.0 MiB') });
    expect(readdirSync(dir)).toEqual([]);
    const tar = rawTar([
      { path: 'bin/a', data: 'a'.repeat(5000) },
      { path: 'bin/b', data: 'b'.repeat(5000) },
    ]);
    const split = Buffer.concat([bz2(tar.subarray(0, 4096)), bz2(tar.subarray(4096))]);
    const whole = tempDir();
    expect((await extractCondaPackage(split, 's-1-0.tar.bz2', whole)).sort()).toEqual(['bin/a', 'bin/b']);
    expect(readFileSync(join(whole, 'bin/b'), 'utf8')).toBe('b'.repeat(5000));
  });
});
