import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installCondaLock } from '../../src/env/conda.js';
import type { CondaLock } from '../../src/env/conda/lock.js';
import { isFlowError } from '../../src/errors/index.js';
import { sha256 } from '../../src/util/hash.js';
import { REPO, tempDir } from '../helpers/cli.js';
import { LIBDEMO, type PackageDef, type TestChannel, packageFile, placeholderOf, pythonPackage, startChannel } from '../helpers/conda-channel.js';

let channel: TestChannel;
let repodata: Record<string, { packages: Record<string, Rec>; 'packages.conda': Record<string, Rec> }>;
interface Rec {
  name: string;
  version: string;
  build: string;
  sha256: string;
  size: number;
}
let cache: string;

beforeAll(async () => {
  channel = await startChannel(tempDir('flowrun-channel-'));
  repodata = {};
  for (const subdir of ['noarch', 'linux-64']) repodata[subdir] = (await (await fetch(`${channel.url}/${subdir}/repodata.json`)).json()) as never;
});
afterAll(async () => {
  await channel?.stop();
});
beforeEach(() => {
  cache = join(tempDir(), 'cache');
  process.env.FLOW_CACHE_DIR = cache;
});

/** A lock of the channel's packages, `name` or `name=version=build`, as the solver would write it. */
function lockOf(...specs: string[]): Buffer {
  const packages = specs
    .map((s) => {
      const [name, version, build] = s.split('=');
      for (const [subdir, r] of Object.entries(repodata)) {
        for (const [file, rec] of [...Object.entries(r.packages), ...Object.entries(r['packages.conda'])]) {
          if (rec.name === name && (!version || rec.version === version) && (!build || rec.build === build)) {
            return { name: rec.name, version: rec.version, build: rec.build, url: `${channel.url}/${subdir}/${file}`, sha256: rec.sha256 };
          }
        }
      }
      throw new Error(`no ${s} in the channel`);
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return Buffer.from(JSON.stringify({ schema: 'flowrun.conda-lock/1', platform: 'linux-64', packages } satisfies CondaLock));
}

const PYTHON = 'python=3.11.9=h9a8b7c6_0_cpython';
const FULL = [PYTHON, 'minipip', 'libdemo', 'ca-demo', 'tzdata'];

async function install(lock: Buffer, lines: string[] = []) {
  return installCondaLock(lock, sha256(lock), { steps: ['start'], info: (l) => lines.push(l), specs: ['python 3.11.*', 'minipip 23.0.*'] });
}

async function refused(lock: Buffer): Promise<{ code: string; exitCode: number; message: string; data?: Record<string, unknown> }> {
  const e = await install(lock).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isFlowError(e)) throw new Error(`expected a FlowError, got ${String(e)}`);
  // Nothing half-made: no prefix, no staging directory, no lock directory.
  expect(existsSync(join(cache, 'conda')) ? readdirSync(join(cache, 'conda')) : []).toEqual([]);
  return e;
}

const firstLine = (file: string) => readFileSync(file, 'utf8').split('\n')[0];

describe('conda linker: a conda-forge-shaped environment', () => {
  let prefix: string;
  let fullLock: Buffer;
  beforeAll(async () => {
    process.env.FLOW_CACHE_DIR = join(tempDir(), 'cache');
    fullLock = lockOf(...FULL);
    const outcome = await install(fullLock);
    expect(outcome.installed).toBe(true);
    prefix = outcome.dir;
  });

  it('relocates text placeholders in shebangs, scripts and .pc files, and pads binary ones with NULs to the same length', async () => {
    const placeholder = placeholderOf(LIBDEMO);
    expect(firstLine(join(prefix, 'bin/pydoc3.11'))).toBe(`#!${prefix}/bin/python3.11`);
    expect(readFileSync(join(prefix, 'lib/pkgconfig/libdemo.pc'), 'utf8')).toContain(`prefix=${prefix}\n`);
    expect(readFileSync(join(prefix, 'lib/pkgconfig/python-3.11.pc'), 'utf8')).toContain(`prefix=${prefix}\n`);
    expect(execFileSync(join(prefix, 'bin/libdemo-rehash'), { encoding: 'utf8' })).toBe(`${prefix}/ssl/certs\n`);
    expect(statSync(join(prefix, 'bin/libdemo-rehash')).mode & 0o777).toBe(0o755);

    const original = packageFile(LIBDEMO, 'lib/libdemo.so.3');
    const relocated = readFileSync(join(prefix, 'lib/libdemo.so.3'));
    expect(relocated.length).toBe(original.length);
    const pad = Buffer.alloc(Buffer.byteLength(placeholder) - Buffer.byteLength(prefix));
    expect(relocated.includes(Buffer.concat([Buffer.from(`OPENSSLDIR: "${prefix}/ssl"\0`), pad]))).toBe(true);
    expect(relocated.includes(Buffer.concat([Buffer.from(`${prefix}/lib/engines-3\0`), pad]))).toBe(true);
    expect(relocated.includes(Buffer.from(placeholder))).toBe(false);
    // Bytes outside the relocated strings do not move.
    expect(relocated.subarray(0, 100)).toEqual(original.subarray(0, 100));
    expect(relocated.subarray(-100)).toEqual(original.subarray(-100));
    // Two occurrences in one C string: both replaced, the padding of both at its end.
    const libpython = readFileSync(join(prefix, 'lib/libpython3.11.so.1.0'));
    expect(libpython.includes(Buffer.concat([Buffer.from(`${prefix}/lib/python3.11/lib-dynload:${prefix}/lib\0`), pad, pad]))).toBe(true);
    expect(readlinkSync(join(prefix, 'lib/libdemo.so'))).toBe('libdemo.so.3');
    expect(readlinkSync(join(prefix, 'bin/python'))).toBe('python3.11');
  });

  it("maps noarch python into lib/python3.11/site-packages, writes entry points with the env's python, compiles .pyc with it", async () => {
    const sp = join(prefix, 'lib/python3.11/site-packages');
    expect(existsSync(join(sp, 'minipip/__init__.py'))).toBe(true);
    expect(existsSync(join(prefix, 'site-packages'))).toBe(false);
    expect(existsSync(join(sp, 'minipip/__pycache__/_cli.cpython-311.pyc'))).toBe(true);
    expect(firstLine(join(prefix, 'bin/minipip'))).toBe(`#!${prefix}/bin/python3.11`);
    expect(statSync(join(prefix, 'bin/minipip')).mode & 0o111).toBe(0o111);
    const env = { ...process.env, PATH: `${prefix}/bin:${process.env.PATH}` };
    expect(execFileSync('minipip', ['--version'], { env, encoding: 'utf8' })).toBe(`minipip 23.0 from ${sp}/minipip (python 3.11)\n`);
    expect(execFileSync('minipip3', ['--version'], { env, encoding: 'utf8' })).toContain(`from ${sp}/minipip`);
    const probe = 'import sys, minipip; print(sys.executable); print(sys.prefix); print(minipip.__file__)';
    expect(execFileSync('python', ['-c', probe], { env, encoding: 'utf8' }).split('\n')).toEqual([`${prefix}/bin/python3.11`, prefix, `${sp}/minipip/__init__.py`, '']);
  });

  it("writes conda-meta/<name>-<version>-<build>.json in conda's format, and conda-meta/history", async () => {
    const lock = fullLock;
    expect(readdirSync(join(prefix, 'conda-meta')).sort()).toEqual(['ca-demo-2024.2.2-hbcca054_0.json', 'history', 'libdemo-3.3.0-hb9d3cd8_3.json', 'minipip-23.0-pyhd8ed1ab_0.json', 'python-3.11.9-h9a8b7c6_0_cpython.json', 'tzdata-2024a-h0c530f3_0.json']);
    expect(readFileSync(join(prefix, 'conda-meta/history'), 'utf8')).toMatch(/^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==\n/);
    const pip = JSON.parse(readFileSync(join(prefix, 'conda-meta/minipip-23.0-pyhd8ed1ab_0.json'), 'utf8')) as Record<string, unknown>;
    const entry = (JSON.parse(lock.toString()) as CondaLock).packages.find((p) => p.name === 'minipip')!;
    expect(pip).toMatchObject({
      name: 'minipip',
      version: '23.0',
      build: 'pyhd8ed1ab_0',
      build_number: 0,
      noarch: 'python',
      package_type: 'noarch_python',
      subdir: 'noarch',
      depends: ['python >=3.8', '__unix'],
      url: entry.url,
      sha256: entry.sha256,
      fn: 'minipip-23.0-pyhd8ed1ab_0.conda',
      channel: channel.url,
      requested_spec: 'minipip 23.0.*',
      link: { type: 3 },
    });
    const files = pip.files as string[];
    expect(files).toContain('lib/python3.11/site-packages/minipip/_cli.py');
    expect(files).toContain('lib/python3.11/site-packages/minipip/__pycache__/_cli.cpython-311.pyc');
    expect(files).toContain('bin/minipip');
    const paths = pip.paths_data as { paths_version: number; paths: Array<Record<string, unknown>> };
    expect(paths.paths_version).toBe(1);
    expect(paths.paths.find((p) => p._path === 'bin/minipip')).toMatchObject({ path_type: 'unix_python_entry_point' });
    expect(paths.paths.find((p) => p._path === 'lib/python3.11/site-packages/minipip/__pycache__/_cli.cpython-311.pyc')).toEqual({ _path: 'lib/python3.11/site-packages/minipip/__pycache__/_cli.cpython-311.pyc', path_type: 'pyc_file' });

    const demo = JSON.parse(readFileSync(join(prefix, 'conda-meta/libdemo-3.3.0-hb9d3cd8_3.json'), 'utf8')) as { md5: string; size: number; paths_data: { paths: Array<Record<string, unknown>> } };
    expect(demo.size).toBe(repodata['linux-64']!['packages.conda']['libdemo-3.3.0-hb9d3cd8_3.conda']!.size);
    const so = demo.paths_data.paths.find((p) => p._path === 'lib/libdemo.so.3')!;
    expect(so).toMatchObject({ path_type: 'hardlink', file_mode: 'binary', prefix_placeholder: placeholderOf(LIBDEMO), sha256: sha256(packageFile(LIBDEMO, 'lib/libdemo.so.3')), sha256_in_prefix: sha256(readFileSync(join(prefix, 'lib/libdemo.so.3'))) });
    expect(demo.paths_data.paths.find((p) => p._path === 'lib/libdemo.so')).toMatchObject({ path_type: 'softlink' });
  });

  it('conda-meta records have the fields and shapes of records real installers wrote for conda-forge packages', () => {
    const shape = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
    const reference = ['libzlib-1.2.13-h53f4e23_5.json', 'openssl-3.3.0-hfb2fe0b_3.trimmed.json'].map((f) => JSON.parse(readFileSync(join(REPO, 'test/fixtures/conda-reference', f), 'utf8')) as Record<string, unknown>);
    const ours = JSON.parse(readFileSync(join(prefix, 'conda-meta/libdemo-3.3.0-hb9d3cd8_3.json'), 'utf8')) as Record<string, unknown>;
    // extracted_package_dir: there is none (the unpacked copy is removed after linking); purls: conda-forge metadata libdemo has no use for.
    for (const ref of reference) {
      for (const [key, value] of Object.entries(ref)) {
        if (key === 'extracted_package_dir' || key === 'purls') continue;
        expect([key, shape(ours[key])]).toEqual([key, shape(value)]);
      }
    }
    const byType = (r: Record<string, unknown>, pick: (p: Record<string, unknown>) => boolean) => Object.keys((r.paths_data as { paths: Array<Record<string, unknown>> }).paths.find(pick)!).sort();
    const openssl = reference[1]!;
    expect(byType(ours, (p) => p.file_mode === 'binary')).toEqual(byType(openssl, (p) => p.file_mode === 'binary'));
    expect(byType(ours, (p) => p.file_mode === 'text')).toEqual(byType(openssl, (p) => p.file_mode === 'text'));
    expect(byType(ours, (p) => p.path_type === 'hardlink' && !p.file_mode)).toEqual(byType(openssl, (p) => p.path_type === 'hardlink' && !p.file_mode));
  });
});

describe('conda linker: other package shapes', () => {
  it('relocates a package built before paths.json (info/files + info/has_prefix, both line forms)', async () => {
    const { dir: prefix } = await install(lockOf('legacy-tool'));
    expect(execFileSync(join(prefix, 'bin/legacy-tool'), { encoding: 'utf8' })).toBe(`legacy tool in ${prefix}\n`);
    expect(readFileSync(join(prefix, 'etc/legacy tool.conf'), 'utf8')).toBe(`root=${prefix}\n`);
  });

  it('two packages shipping one file: the later in install order wins, with a warning naming both', async () => {
    const lines: string[] = [];
    const { dir: prefix } = await install(lockOf('clobber-a', 'clobber-b'), lines);
    expect(readFileSync(join(prefix, 'share/clobber/NOTICE'), 'utf8')).toBe('from clobber-b\n');
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual(['warning: conda packages clobber-a-1.0-0 and clobber-b-1.0-0 both install share/clobber/NOTICE; clobber-b-1.0-0 (later in install order) wins, as in conda (ClobberWarning)']);
    expect(lstatSync(join(prefix, 'share/clobber/NOTICE')).isFile()).toBe(true);
  });
});

describe('conda install: bad input is a coded error and leaves no prefix', () => {
  it('a binary placeholder shorter than the prefix: ENV_PREFIX_TOO_LONG naming the package and the limit (exit 4)', async () => {
    const e = await refused(lockOf('shortpad'));
    expect(e).toMatchObject({ code: 'ENV_PREFIX_TOO_LONG', exitCode: 4, data: { package: 'shortpad-1.0-0', path: 'lib/libshort.so', limit: 10 } });
    expect(e.message).toContain('shortpad-1.0-0');
    expect(e.message).toContain('at most 10 bytes');
  });

  it('a channel serving bytes that do not match the sha256: ENV_PACKAGE_CORRUPT (exit 3), nothing kept in the package cache', async () => {
    const e = await refused(lockOf('tampered'));
    expect(e).toMatchObject({ code: 'ENV_PACKAGE_CORRUPT', exitCode: 3 });
    expect(e.message).toContain('tampered-1.0-0.tar.bz2');
    expect(existsSync(join(cache, 'conda-pkgs')) ? readdirSync(join(cache, 'conda-pkgs')) : []).toEqual([]);
  });

  it('a corrupted paths.json: ENV_PACKAGE_INVALID naming the package and the file (exit 4)', async () => {
    const e = await refused(lockOf('badpaths'));
    expect(e).toMatchObject({ code: 'ENV_PACKAGE_INVALID', exitCode: 4 });
    expect(e.message).toContain('badpaths-1.0-0');
    expect(e.message).toContain('info/paths.json is not valid JSON');
  });

  it('a lock solved for another platform: ENV_PLATFORM_MISMATCH naming both platforms (exit 4), before any download', async () => {
    const other = JSON.parse(lockOf('hello=1.0').toString()) as CondaLock;
    other.platform = 'osx-arm64';
    const before = channel.downloads();
    const e = await refused(Buffer.from(JSON.stringify(other)));
    expect(e).toMatchObject({ code: 'ENV_PLATFORM_MISMATCH', exitCode: 4, data: { lockPlatform: 'osx-arm64', platform: 'linux-64' } });
    expect(e.message).toContain('solved for osx-arm64, but this machine is linux-64');
    expect(channel.downloads()).toBe(before);
  });

  it('a package with a post-link script: ENV_LINK_SCRIPT naming it; the script never runs', async () => {
    const e = await refused(lockOf('postlink'));
    expect(e).toMatchObject({ code: 'ENV_LINK_SCRIPT', exitCode: 4, data: { package: 'postlink-1.0-0', scripts: ['bin/.postlink-post-link.sh'] } });
  });

  it('a lock whose packages need a newer glibc than this machine has: ENV_VIRTUAL_PACKAGE_MISSING', async () => {
    const e = await refused(lockOf('python=3.11.9=h9a8b7c6_1_cpython', 'libdemo', 'ca-demo', 'tzdata'));
    expect(e).toMatchObject({ code: 'ENV_VIRTUAL_PACKAGE_MISSING', exitCode: 4 });
    expect(e.message).toContain('python-3.11.9-h9a8b7c6_1_cpython needs __glibc >=2.99,<3.0.a0');
  });
});

describe('conda package cache', () => {
  it('downloads an archive once per machine (by sha256), shared by every env; a damaged entry is fetched again', async () => {
    const file = 'libdemo-3.3.0-hb9d3cd8_3.conda';
    const before = channel.downloads(file);
    await install(lockOf('libdemo', 'ca-demo'));
    expect(channel.downloads(file)).toBe(before + 1);
    const lines: string[] = [];
    const second = await install(lockOf('libdemo', 'ca-demo', 'hello=1.0'), lines);
    expect(second.installed).toBe(true);
    expect(channel.downloads(file)).toBe(before + 1);
    expect(lines).toContain('conda: 3 packages, 1 downloaded, 2 from the package cache');

    const { sha256: digest } = repodata['linux-64']!['packages.conda'][file]!;
    writeFileSync(join(cache, 'conda-pkgs', digest.slice(0, 2), digest), 'bit rot');
    await install(lockOf('libdemo', 'hello=1.0'));
    expect(channel.downloads(file)).toBe(before + 2);
    expect(sha256(readFileSync(join(cache, 'conda-pkgs', digest.slice(0, 2), digest)))).toBe(digest);
  });

  it('a prefix without conda-meta/history (an install by a flowrun that did not relocate) is installed again', async () => {
    const lock = lockOf('hello=1.0');
    const first = await install(lock);
    expect((await install(lock)).installed).toBe(false);
    rmSync(join(first.dir, 'conda-meta', 'history'));
    expect((await install(lock)).installed).toBe(true);
  });
});

describe('conda install: hostile package metadata writes nothing outside the prefix', () => {
  const paths = (entries: object[]) => JSON.stringify({ paths_version: 1, paths: entries });
  const hostile: PackageDef[] = [
    { name: 'evil-paths', version: '1.0', format: 'conda', files: [{ path: 'bin/ok', data: 'ok' }], infoOverride: { 'info/paths.json': paths([{ _path: '../../../evil-paths.txt', path_type: 'hardlink' }]) } },
    { name: 'evil-abs', version: '1.0', format: 'conda', files: [{ path: 'bin/ok', data: 'ok' }], infoOverride: { 'info/paths.json': paths([{ _path: '/tmp/flowrun-evil-abs.txt', path_type: 'hardlink' }]) } },
    { name: 'evil-entry', version: '1.0', build: 'py_0', noarch: 'python', format: 'conda', files: [{ path: 'site-packages/evil.py', data: 'def main(): pass\n' }], entryPoints: ['../../../evil-entry = evil:main'] },
    { name: 'evil-index', version: '1.0', format: 'conda', files: [{ path: 'bin/ok', data: 'ok' }], infoOverride: { 'info/index.json': JSON.stringify({ name: 'python', version: '3.11.9', build: '0' }) } },
    { name: 'evil-type', version: '1.0', format: 'conda', files: [{ path: 'bin/ok', data: 'ok' }], infoOverride: { 'info/paths.json': paths([{ _path: 'bin/ok', path_type: 'softlink' }]) } },
  ];
  let evil: TestChannel;
  beforeAll(async () => {
    evil = await startChannel(tempDir('flowrun-evil-channel-'), [...hostile, { ...pythonPackage('3.11.9', 'h9a8b7c6_0_cpython'), depends: [] }]);
  });
  afterAll(async () => {
    await evil?.stop();
  });

  it.each([
    ['a paths.json entry climbing out with ../', 'evil-paths', 'unsafe path'],
    ['a paths.json entry with an absolute path', 'evil-abs', 'unsafe path'],
    ['an entry point whose name is a path', 'evil-entry', 'entry point'],
    ['an index.json naming another package', 'evil-index', 'says it is python-3.11.9-0'],
    ['a paths.json path_type that does not match the archive', 'evil-type', 'is a softlink, but the archive has a hardlink'],
  ])('refuses %s (ENV_PACKAGE_INVALID)', async (_what, name, says) => {
    const repo = (await (await fetch(`${evil.url}/noarch/repodata.json`)).json()) as { 'packages.conda': Record<string, Rec> };
    const linux = (await (await fetch(`${evil.url}/linux-64/repodata.json`)).json()) as { 'packages.conda': Record<string, Rec> };
    const entry = (subdir: string, file: string, r: Rec) => ({ name: r.name, version: r.version, build: r.build, url: `${evil.url}/${subdir}/${file}`, sha256: r.sha256 });
    const packages = Object.entries(repo['packages.conda'])
      .filter(([, r]) => r.name === name)
      .map(([f, r]) => entry('noarch', f, r));
    if (name === 'evil-entry') packages.push(...Object.entries(linux['packages.conda']).map(([f, r]) => entry('linux-64', f, r)));
    const e = await refused(Buffer.from(JSON.stringify({ schema: 'flowrun.conda-lock/1', platform: 'linux-64', packages })));
    expect(e.code).toBe('ENV_PACKAGE_INVALID');
    expect(e.message).toContain(says);
    for (const f of ['evil-paths.txt', 'evil-entry']) {
      expect(existsSync(join(cache, f))).toBe(false);
      expect(existsSync(join(cache, '..', f))).toBe(false);
    }
    expect(existsSync('/tmp/flowrun-evil-abs.txt')).toBe(false);
  });
});
