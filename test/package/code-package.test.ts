import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Header, type HeaderData } from 'tar';
import { describe, expect, it } from 'vitest';
import { isFlowError, type FlowError } from '../../src/errors/index.js';
import { buildCodePackage, extractCodePackage, listCodePackage, manifestOf, readPackageFiles } from '../../src/package/code-package.js';
import { sha256 } from '../../src/util/hash.js';
import { tempDir } from '../helpers/cli.js';

const LONG = `deep/${'a'.repeat(60)}/${'b'.repeat(60)}/long-name.ts`;
const PROJECT: Record<string, string> = {
  'package.json': '{"name":"p","type":"module"}\n',
  'package-lock.json': '{"lockfileVersion":3}\n',
  'flows/train.ts': 'export const x = 1;\n',
  'flows/lib/util.ts': 'export const y = 2;\n',
  'scripts/run.sh': '#!/bin/sh\necho hi\n',
  'data/ünïcode-名前.txt': 'unicode name\n',
  [LONG]: 'long path, needs a pax header\n',
  'empty.txt': '',
  'B.txt': 'upper case sorts before lower case in byte order\n',
  'a.txt': 'a\n',
};
const EXEC = ['scripts/run.sh'];
const LIST = Object.keys(PROJECT);

function writeProject(dir: string, order: string[], opts: { mode?: number; mtime?: number; chown?: boolean } = {}): void {
  for (const p of order) {
    const f = join(dir, p);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, PROJECT[p]!);
    chmodSync(f, EXEC.includes(p) ? 0o755 : (opts.mode ?? 0o644));
    if (opts.mtime !== undefined) utimesSync(f, opts.mtime, opts.mtime);
    if (opts.chown) chownSync(f, 1234, 1234);
  }
}

function expectFlowError(fn: () => unknown, code: string): FlowError {
  try {
    fn();
  } catch (e) {
    expect(isFlowError(e), String(e)).toBe(true);
    expect((e as FlowError).code, (e as Error).message).toBe(code);
    return e as FlowError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** Every path under `dir` (recursive, symlinks not followed), with type and size: a fingerprint of the tree. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = lstatSync(full);
      const rel = relative(dir, full);
      if (st.isDirectory()) {
        out.push(`${rel}/`);
        walk(full);
      } else if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(full)}`);
      else out.push(`${rel} ${st.size} ${st.nlink} ${readFileSync(full).toString('hex').slice(0, 32)}`);
    }
  };
  walk(dir);
  return out;
}

describe('buildCodePackage: determinism', () => {
  it('gives the same bytes and hash twice', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const a = buildCodePackage(dir, LIST);
    const b = buildCodePackage(dir, [...LIST].reverse());
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(b.tar.equals(a.tar)).toBe(true);
    expect(a.bytes).toBe(a.tar.length);
    expect(a.bytes % 512).toBe(0);
  });

  it('gives the same hash across directories, mtimes, 664/644 modes, owners, hard links and creation order', () => {
    const one = tempDir();
    const two = join(tempDir(), 'nested', 'elsewhere');
    writeProject(one, LIST, { mtime: 1_000_000_000 });
    const oldUmask = process.umask(0o002);
    try {
      writeProject(two, [...LIST].reverse(), { mode: 0o664, mtime: 1_700_000_000, chown: true });
    } finally {
      process.umask(oldUmask);
    }
    // A hard link from outside the list must not turn into a tar hard link.
    linkSync(join(two, 'a.txt'), join(two, 'a-copy-not-packaged.txt'));
    // 0744 and 0755 are both "executable"; 0600 and 0644 both "not".
    chmodSync(join(two, 'scripts/run.sh'), 0o744);
    chmodSync(join(two, 'flows/train.ts'), 0o600);
    expect(statSync(join(two, 'package.json')).mode & 0o777).toBe(0o664);
    expect(statSync(join(two, 'package.json')).uid).toBe(1234);

    const a = buildCodePackage(one, LIST);
    const b = buildCodePackage(
      two,
      LIST.map((p) => `./${p}`),
    );
    expect(b.hash).toBe(a.hash);
    expect(b.tar.equals(a.tar)).toBe(true);
  });

  it('matches a golden hash (a change means every existing package hash changes: treat as a format change)', () => {
    const dir = tempDir();
    writeProject(dir, LIST, { mtime: 123 });
    expect(buildCodePackage(dir, LIST).hash).toBe(GOLDEN);
  });

  it('keeps the exec bit: making a file executable changes the hash', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const before = buildCodePackage(dir, LIST);
    chmodSync(join(dir, 'flows/train.ts'), 0o755);
    const after = buildCodePackage(dir, LIST);
    expect(after.hash).not.toBe(before.hash);
    expect(before.files.find((f) => f.path === 'flows/train.ts')?.mode).toBe(0o644);
    expect(after.files.find((f) => f.path === 'flows/train.ts')?.mode).toBe(0o755);
    expect(after.files.find((f) => f.path === 'scripts/run.sh')?.mode).toBe(0o755);
  });

  it('changes the hash when content changes, or a file is added', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const before = buildCodePackage(dir, LIST);
    writeFileSync(join(dir, 'flows/train.ts'), 'export const x = 2;\n');
    const edited = buildCodePackage(dir, LIST);
    expect(edited.hash).not.toBe(before.hash);
    writeFileSync(join(dir, 'new.ts'), '');
    expect(buildCodePackage(dir, [...LIST, 'new.ts']).hash).not.toBe(edited.hash);
  });

  it('lists entries byte-sorted, with sizes and modes that listCodePackage reads back', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const pkg = buildCodePackage(dir, LIST);
    const paths = pkg.files.map((f) => f.path);
    expect(paths).toEqual([...LIST].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(paths.indexOf('B.txt')).toBeLessThan(paths.indexOf('a.txt'));
    expect(listCodePackage(pkg.tar)).toEqual(pkg.files);
    expect(pkg.files.find((f) => f.path === LONG)?.size).toBe(PROJECT[LONG]!.length);
  });

  it('reads back the manifest (sha256 of each file) and the text of chosen files; a damaged tar is an error, not a partial read', async () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const pkg = buildCodePackage(dir, LIST);
    const manifest = await manifestOf(pkg.tar);
    expect(manifest.map((m) => m.path)).toEqual(pkg.files.map((f) => f.path));
    for (const m of manifest) expect(m.sha256).toBe(sha256(readFileSync(join(dir, m.path))));
    const texts = await readPackageFiles(pkg.tar, new Set([LONG, 'a.txt', 'not/there.ts']));
    expect([...texts.keys()].sort()).toEqual([LONG, 'a.txt'].sort());
    expect(texts.get(LONG)).toBe(PROJECT[LONG]);
    const damaged = Buffer.from(pkg.tar);
    damaged.writeUInt8(damaged.readUInt8(100) ^ 0xff, 100);
    await expect(readPackageFiles(damaged, new Set(['a.txt']))).rejects.toThrow();
    await expect(manifestOf(damaged)).rejects.toThrow();
  });
});

describe('buildCodePackage: refusals', () => {
  it('fails before building when over the size guard, naming the 5 biggest files', () => {
    const dir = tempDir();
    const sizes: Record<string, number> = { 'a.bin': 1000, 'b.bin': 6000, 'c.bin': 3000, 'd.bin': 5000, 'e.bin': 2000, 'f.bin': 4000, 'g.txt': 10 };
    for (const [p, n] of Object.entries(sizes)) writeFileSync(join(dir, p), Buffer.alloc(n, 1));
    const err = expectFlowError(() => buildCodePackage(dir, Object.keys(sizes), { maxBytes: 10_000 }), 'CODE_PACKAGE_TOO_LARGE');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('over the 9.8 KiB limit');
    expect(err.message).toContain('b.bin (5.9 KiB), d.bin (4.9 KiB), f.bin (3.9 KiB), c.bin (2.9 KiB), e.bin (2.0 KiB)');
    expect(err.message).not.toContain('a.bin');
    expect(err.fix).toContain('.gitignore');
    expect(err.fix).toContain('codePackage.maxBytes');
    expect(err.data).toMatchObject({ totalBytes: 21_010, maxBytes: 10_000 });
    // Exactly at the limit is fine.
    expect(buildCodePackage(dir, ['b.bin', 'f.bin'], { maxBytes: 10_000 }).files).toHaveLength(2);
  });

  it('stores in-project relative symlinks, refuses ones that leave the project', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    symlinkSync('../flows/train.ts', join(dir, 'scripts/train-link.ts'));
    symlinkSync('flows', join(dir, 'flows-link'));
    const pkg = buildCodePackage(dir, [...LIST, 'scripts/train-link.ts', 'flows-link']);
    expect(pkg.files.find((f) => f.path === 'flows-link')).toMatchObject({ type: 'symlink', linkpath: 'flows', size: 0 });

    const cases: Array<[string, string]> = [
      ['up', '..'],
      ['abs', '/etc'],
      ['abs-inside', join(dir, 'a.txt')],
      ['sneaky', 'flows/../../x'],
    ];
    for (const [name, target] of cases) {
      symlinkSync(target, join(dir, name));
      const err = expectFlowError(() => buildCodePackage(dir, [...LIST, name]), 'CODE_PACKAGE_UNSAFE_LINK');
      expect(err.message).toContain(`"${name}"`);
      expect(err.exitCode).toBe(2);
    }
    // A chain: each link alone is inside, but c goes through b to outside.
    mkdirSync(join(dir, 'x'));
    symlinkSync('..', join(dir, 'x/b'));
    symlinkSync('x/b/..', join(dir, 'c'));
    expect(buildCodePackage(dir, [...LIST, 'x/b']).files.length).toBe(LIST.length + 1);
    expect(expectFlowError(() => buildCodePackage(dir, [...LIST, 'x/b', 'c']), 'CODE_PACKAGE_UNSAFE_LINK').message).toContain('"c"');
  });

  it('refuses files reached through a symlinked directory, missing files, directories and bad paths', () => {
    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret'), 'secret');
    writeProject(dir, LIST);
    symlinkSync(outside, join(dir, 'linked'));
    expectFlowError(() => buildCodePackage(dir, ['linked/secret']), 'CODE_PACKAGE_UNSAFE_LINK');
    expectFlowError(() => buildCodePackage(dir, ['gone.ts']), 'CODE_PACKAGE_MISSING_FILE');
    expectFlowError(() => buildCodePackage(dir, ['flows']), 'CODE_PACKAGE_UNSUPPORTED_FILE');
    expectFlowError(() => buildCodePackage(dir, LIST, { maxBytes: 0 }), 'CODE_PACKAGE_BAD_LIMIT');
    for (const p of ['../x', '/etc/passwd', 'a//b', 'node_modules/x/index.js', '.flow/objects/x']) {
      expectFlowError(() => buildCodePackage(dir, [p]), 'CODE_PACKAGE_BAD_PATH');
    }
  });
});

describe('extractCodePackage: round trip', () => {
  it('extracts byte-identical files with the exec bit, and rebuilding gives the same hash', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    symlinkSync('../flows/train.ts', join(dir, 'scripts/train-link.ts'));
    const list = [...LIST, 'scripts/train-link.ts'];
    const pkg = buildCodePackage(dir, list);

    const out = join(tempDir(), 'extracted');
    const written = extractCodePackage(pkg.tar, out);
    expect(written).toEqual(pkg.files.map((f) => f.path));
    for (const p of LIST) {
      expect(readFileSync(join(out, p)).equals(readFileSync(join(dir, p))), p).toBe(true);
      expect((statSync(join(out, p)).mode & 0o100) !== 0, p).toBe(EXEC.includes(p));
    }
    expect(readlinkSync(join(out, 'scripts/train-link.ts'))).toBe('../flows/train.ts');
    expect(readFileSync(join(out, 'scripts/train-link.ts'), 'utf8')).toBe(PROJECT['flows/train.ts']);
    expect(statSync(join(out, 'a.txt')).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(buildCodePackage(out, list).hash).toBe(pkg.hash);
  });

  it('refuses a non-empty target directory', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const out = tempDir();
    writeFileSync(join(out, 'already-here'), '');
    expectFlowError(() => extractCodePackage(buildCodePackage(dir, LIST).tar, out), 'CODE_PACKAGE_TARGET_NOT_EMPTY');
  });

  it('reports a damaged archive as corrupt', () => {
    const dir = tempDir();
    writeProject(dir, LIST);
    const tar = Buffer.from(buildCodePackage(dir, LIST).tar);
    tar.writeUInt8(tar.readUInt8(100) ^ 0xff, 100); // inside the first header: checksum no longer matches
    expectFlowError(() => listCodePackage(tar), 'CODE_PACKAGE_CORRUPT');
    const err = expectFlowError(() => extractCodePackage(tar, join(tempDir(), 'out')), 'CODE_PACKAGE_CORRUPT');
    expect(err.exitCode).toBe(3);
  });
});

/* ----------------------------------------------------------------------------------------- */

interface RawEntry extends HeaderData {
  body?: string;
}

/** A tar written header by header, as an attacker would (no checks of any kind). */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { body, ...h } of entries) {
    const data = Buffer.from(body ?? '');
    const header = new Header({ mode: 0o644, mtime: new Date(0), size: data.length, ...h });
    header.encode();
    blocks.push(header.block!);
    blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe('extractCodePackage: malicious archives', () => {
  /** Extracts `tar` into base/target, expects CODE_PACKAGE_UNSAFE, and checks nothing was written anywhere. */
  function expectRefused(tar: Buffer, entry: string, opts: { maxBytes?: number } = {}): FlowError {
    const base = tempDir('flowrun-evil-');
    writeFileSync(join(base, 'outside.txt'), 'original');
    mkdirSync(join(base, 'outside-dir'));
    const target = join(base, 'target');
    const before = snapshot(base);
    const err = expectFlowError(() => extractCodePackage(tar, target, opts), 'CODE_PACKAGE_UNSAFE');
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`"${entry}"`);
    expect(snapshot(base)).toEqual(before);
    expect(existsSync(target)).toBe(false);
    return err;
  }
  const ok = { path: 'ok.txt', type: 'File', body: 'fine' } as const;

  it('sanity: a hand-written archive of plain files extracts', () => {
    const out = join(tempDir(), 'out');
    expect(extractCodePackage(rawTar([ok, { path: 'd/', type: 'Directory', size: 0 }, { path: 'd/x', type: 'File', body: 'x' }]), out)).toEqual(['ok.txt', 'd/x']);
    expect(readFileSync(join(out, 'd/x'), 'utf8')).toBe('x');
  });

  it('refuses ../evil', () => {
    const err = expectRefused(rawTar([ok, { path: '../evil', type: 'File', body: 'pwned' }]), '../evil');
    expect(err.message).toContain('".." segment');
    expectRefused(rawTar([{ path: 'a/../../evil', type: 'File', body: 'pwned' }]), 'a/../../evil');
  });

  it('refuses /abs/evil', () => {
    const abs = join(tempDir(), 'abs', 'evil');
    expectRefused(rawTar([ok, { path: abs, type: 'File', body: 'pwned' }]), abs);
    expect(existsSync(abs)).toBe(false);
    expect(existsSync(join(tempDir(), abs))).toBe(false);
  });

  it('refuses a symlink to /etc and a file written through it', () => {
    expectRefused(
      rawTar([
        { path: 'etc', type: 'SymbolicLink', linkpath: '/etc', size: 0 },
        { path: 'etc/evil', type: 'File', body: 'pwned' },
      ]),
      'etc',
    );
    // Relative escapes, and a file through an in-archive symlink that alone looks harmless.
    expectRefused(
      rawTar([
        { path: 'up', type: 'SymbolicLink', linkpath: '../outside-dir', size: 0 },
        { path: 'up/evil', type: 'File', body: 'pwned' },
      ]),
      'up/evil',
    );
    expectRefused(rawTar([{ path: 'up', type: 'SymbolicLink', linkpath: '../outside-dir', size: 0 }]), 'up');
    expectRefused(
      rawTar([
        { path: 'here', type: 'SymbolicLink', linkpath: '.', size: 0 },
        { path: 'here/evil', type: 'File', body: 'x' },
      ]),
      'here/evil',
    );
  });

  it('refuses a symlink chain that escapes only when followed', () => {
    // a/b -> .. resolves to the root (inside); c -> a/b/.. then climbs out of it.
    expectRefused(
      rawTar([
        { path: 'a/b', type: 'SymbolicLink', linkpath: '..', size: 0 },
        { path: 'c', type: 'SymbolicLink', linkpath: 'a/b/..', size: 0 },
      ]),
      'c',
    );
    // Declared in the other order: the target symlink comes after the one using it.
    expectRefused(
      rawTar([
        { path: 'c', type: 'SymbolicLink', linkpath: 'a/b/../outside.txt', size: 0 },
        { path: 'a/b', type: 'SymbolicLink', linkpath: '..', size: 0 },
      ]),
      'c',
    );
    expectRefused(rawTar([{ path: 'loop', type: 'SymbolicLink', linkpath: 'loop/x', size: 0 }]), 'loop');
    // Case-folded: on a case-insensitive file system A/x is a/x.
    expectRefused(
      rawTar([
        { path: 'a', type: 'SymbolicLink', linkpath: 'sub', size: 0 },
        { path: 'A/x', type: 'File', body: 'x' },
      ]),
      'A/x',
    );
  });

  it('refuses a hard link to ../outside, to an absolute path, or to anything not already extracted', () => {
    expectRefused(rawTar([ok, { path: 'hl', type: 'Link', linkpath: '../outside.txt', size: 0 }]), 'hl');
    expectRefused(rawTar([{ path: 'hl', type: 'Link', linkpath: '/etc/passwd', size: 0 }]), 'hl');
    expectRefused(
      rawTar([
        { path: 'hl', type: 'Link', linkpath: 'later.txt', size: 0 },
        { path: 'later.txt', type: 'File', body: 'x' },
      ]),
      'hl',
    );
    // A hard link to a file earlier in the archive is fine.
    const out = join(tempDir(), 'out');
    extractCodePackage(rawTar([ok, { path: 'hl', type: 'Link', linkpath: 'ok.txt', size: 0 }]), out);
    expect(readFileSync(join(out, 'hl'), 'utf8')).toBe('fine');
  });

  it('refuses character devices, block devices and fifos', () => {
    const err = expectRefused(rawTar([ok, { path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3, size: 0 }]), 'null');
    expect(err.message).toContain('CharacterDevice');
    expectRefused(rawTar([{ path: 'sda', type: 'BlockDevice', devmaj: 8, devmin: 0, size: 0 }]), 'sda');
    expectRefused(rawTar([{ path: 'pipe', type: 'FIFO', size: 0 }]), 'pipe');
  });

  it('refuses a huge declared size, and a running total over maxBytes', () => {
    const bomb = rawTar([ok]);
    const header = new Header({ path: 'bomb.bin', type: 'File', mode: 0o644, mtime: new Date(0), size: 4 * 1024 ** 3 });
    header.encode();
    const tar = Buffer.concat([bomb.subarray(0, 1024), header.block!, Buffer.alloc(4096, 0x41)]);
    const err = expectRefused(tar, 'bomb.bin');
    expect(err.message).toContain('4.0 GiB');
    const many = rawTar(Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, type: 'File' as const, body: 'x'.repeat(1000) })));
    expectRefused(many, 'f7', { maxBytes: 12_000 });
    expect(extractCodePackage(many, join(tempDir(), 'out'), { maxBytes: 40_000 })).toHaveLength(20);
  });

  it('refuses setuid/setgid/sticky bits (a root extract must not create a setuid binary)', () => {
    expectRefused(rawTar([{ path: 'su', type: 'File', mode: 0o4755, body: '#!/bin/sh' }]), 'su');
  });

  it('refuses duplicates and entries that would replace or pass through files', () => {
    expectRefused(rawTar([ok, { ...ok, body: 'again' }]), 'ok.txt');
    expectRefused(rawTar([ok, { path: 'ok.txt/x', type: 'File', body: 'x' }]), 'ok.txt/x');
    expectRefused(
      rawTar([
        { path: 'd/x', type: 'File', body: 'x' },
        { path: 'd', type: 'SymbolicLink', linkpath: 'e', size: 0 },
      ]),
      'd',
    );
  });
});

const GOLDEN = '11222189f4b6f288b34833a5b5d63e7fcd75dd5fbc573edfcf37da56b6d9414d';
