import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractCondaPackage } from '../../src/env/extract.js';
import { rawTar } from '../helpers/conda-channel.js';
import { tempDir } from '../helpers/cli.js';

const bz2 = (tar: Buffer) => execFileSync('bzip2', ['-c'], { input: tar });

describe('conda archive extraction', () => {
  it('writes files with their modes, in-directory links, and info/ (the linker reads it)', async () => {
    const prefix = tempDir();
    const files = await extractCondaPackage(bz2(rawTar([
      { path: 'info/index.json', data: '{}' },
      { path: 'bin/tool', data: '#!/bin/sh\n', mode: 0o755 },
      { path: 'lib/link', symlink: '../bin/tool' },
    ])), 'x-1-0.tar.bz2', prefix);
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
    await expect(extractCondaPackage(bz2(rawTar([{ path: 'bin/b', symlink: 'a' }, { path: 'bin/b', data: 'through the link' }])), 'c-1-0.tar.bz2', prefix)).rejects.toMatchObject({ code: 'ENV_ARCHIVE_UNSAFE' });
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
