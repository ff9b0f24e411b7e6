import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowError, isFlowError } from '../../src/errors/index.js';
import { type ExtractPolicy, type Refusal, safeExtract } from '../../src/package/safe-extract.js';
import { tempDir } from '../helpers/cli.js';
import { paxRecord, type RawEntry, rawTar } from '../robustness/raw-tar.js';

// The one extractor every untrusted tar goes through (code packages, conda archives, Batch
// node_modules tarballs). Archives are written header by header (test/robustness/raw-tar.ts),
// as an attacker would: node-tar refuses to create most of them.

const f = (path: string, body = 'evil'): RawEntry => ({ path, body });

function policy(over: Partial<ExtractPolicy> = {}): ExtractPolicy {
  return {
    symlinks: 'confined',
    specialModes: 'refuse',
    unsafe: (r) => new FlowError('CODE_PACKAGE_UNSAFE', `entry "${r.entry}" ${r.reason}`, { data: { ...r } }),
    corrupt: (e) => new FlowError('CODE_PACKAGE_CORRUPT', String(e)),
    ...over,
  };
}

/** A work folder: `target` to extract into, `outside.txt` beside it, and what else lives there (`abs`, an absolute directory). */
function setup(): { work: string; target: string; abs: string } {
  const work = tempDir('flowrun-safe-extract-');
  const abs = tempDir('flowrun-safe-extract-abs-');
  writeFileSync(join(work, 'outside.txt'), 'original');
  writeFileSync(join(abs, 'outside.txt'), 'original');
  return { work, target: join(work, 'target'), abs };
}

/** Every path under `dir` with its type and size, symlinks not followed. */
function listing(dir: string, skip?: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p === skip) continue;
      const st = lstatSync(p);
      out.push(`${p}:${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Extracts and returns the refusal, checking that nothing outside the target changed. */
function refusal(tar: Buffer, ctx: { work: string; target: string; abs: string }, over: Partial<ExtractPolicy> = {}): Refusal {
  const before = [listing(ctx.work, ctx.target), listing(ctx.abs)];
  let caught: unknown;
  try {
    safeExtract(tar, ctx.target, policy(over));
  } catch (e) {
    caught = e;
  }
  expect([listing(ctx.work, ctx.target), listing(ctx.abs)]).toEqual(before);
  expect(readFileSync(join(ctx.work, 'outside.txt'), 'utf8')).toBe('original');
  expect(readFileSync(join(ctx.abs, 'outside.txt'), 'utf8')).toBe('original');
  expect(isFlowError(caught), String(caught)).toBe(true);
  expect((caught as FlowError).code).toBe('CODE_PACKAGE_UNSAFE');
  return (caught as FlowError).data as unknown as Refusal;
}

describe('safeExtract: what passes', () => {
  it('writes files, directories, in-target symlinks and hard links to earlier files; returns the non-directories in archive order', () => {
    const { target } = setup();
    const files = safeExtract(
      rawTar([
        { path: './', type: '5' },
        { path: 'bin/', type: '5' },
        { path: 'bin/tool', body: '#!/bin/sh\n', mode: 0o755 },
        { path: 'lib/a.txt', body: 'a' },
        { path: 'lib/link', type: '2', linkpath: '../bin/tool' },
        { path: 'lib/hard', type: '1', linkpath: 'lib/a.txt' },
      ]),
      target,
      policy(),
    );
    expect(files).toEqual(['bin/tool', 'lib/a.txt', 'lib/link', 'lib/hard']);
    expect(statSync(join(target, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(target, 'lib/link'))).toBe('../bin/tool');
    expect(statSync(join(target, 'lib/hard')).ino).toBe(statSync(join(target, 'lib/a.txt')).ino);
  });

  it('extracts into a non-empty target beside what it holds, a directory entry over an existing directory included', () => {
    const { target } = setup();
    mkdirSync(join(target, 'info'), { recursive: true });
    writeFileSync(join(target, 'info/index.json'), '{}');
    expect(safeExtract(rawTar([{ path: 'info/', type: '5' }, f('info/paths.json', '[]')]), target, policy())).toEqual(['info/paths.json']);
    expect(readFileSync(join(target, 'info/index.json'), 'utf8')).toBe('{}');
  });
});

describe('safeExtract: refusals, with nothing written outside the target', () => {
  it('refuses ../x and a/../../x', () => {
    const ctx = setup();
    expect(refusal(rawTar([f('../x')]), ctx)).toMatchObject({ entry: '../x', kind: 'path' });
    expect(refusal(rawTar([{ path: 'a/', type: '5' }, f('a/../../x')]), ctx)).toMatchObject({ entry: 'a/../../x', kind: 'path' });
    expect(existsSync(join(ctx.work, 'x'))).toBe(false);
  });

  it('refuses an absolute path, and ..\\ even where a backslash is a plain character', () => {
    const ctx = setup();
    expect(refusal(rawTar([f(`${ctx.abs}/evil.txt`)]), ctx)).toMatchObject({ kind: 'path', reason: 'is an absolute path' });
    expect(refusal(rawTar([f('a\\..\\..\\evil.txt')]), ctx, { backslashes: 'literal' })).toMatchObject({ kind: 'path' });
  });

  it('refuses a symlink pointing out, then a file written through it (before writing either)', () => {
    const ctx = setup();
    expect(refusal(rawTar([{ path: 'up', type: '2', linkpath: '..' }, f('up/evil.txt')]), ctx)).toMatchObject({ entry: 'up/evil.txt', kind: 'ancestor' });
    expect(refusal(rawTar([{ path: 'abs', type: '2', linkpath: ctx.abs }]), ctx)).toMatchObject({ entry: 'abs', kind: 'symlink' });
    // On its own, the link pointing out is refused too: a later reader would follow it.
    expect(refusal(rawTar([{ path: 'a/up', type: '2', linkpath: '../..' }]), ctx)).toMatchObject({ entry: 'a/up', kind: 'symlink' });
    expect(existsSync(join(ctx.target, 'up'))).toBe(false);
  });

  it('refuses writing through a symlink even when it points inside, and through one already in the target', () => {
    const ctx = setup();
    expect(refusal(rawTar([{ path: 'lib64', type: '2', linkpath: 'lib' }, { path: 'lib/', type: '5' }, f('lib64/x')]), ctx)).toMatchObject({ entry: 'lib64/x', kind: 'ancestor' });
    mkdirSync(ctx.target);
    symlinkSync(ctx.abs, join(ctx.target, 'planted'));
    expect(refusal(rawTar([f('planted/evil.txt')]), ctx)).toMatchObject({ entry: 'planted/evil.txt', kind: 'ancestor' });
    // A link in the archive that leaves only through the planted one.
    expect(refusal(rawTar([{ path: 'l', type: '2', linkpath: 'planted/outside.txt' }]), ctx)).toMatchObject({ entry: 'l', kind: 'symlink' });
  });

  it('never writes over a path the target holds (a file, or a symlink out)', () => {
    const ctx = setup();
    mkdirSync(ctx.target);
    writeFileSync(join(ctx.target, 'kept.txt'), 'kept');
    symlinkSync(join(ctx.abs, 'outside.txt'), join(ctx.target, 'out'));
    expect(refusal(rawTar([f('kept.txt', 'replaced')]), ctx)).toMatchObject({ entry: 'kept.txt', kind: 'duplicate' });
    expect(refusal(rawTar([f('out', 'through')]), ctx)).toMatchObject({ entry: 'out', kind: 'duplicate' });
    expect(readFileSync(join(ctx.target, 'kept.txt'), 'utf8')).toBe('kept');
  });

  it('refuses a hard link out (relative or absolute), or to a file not earlier in the archive', () => {
    const ctx = setup();
    expect(refusal(rawTar([{ path: 'hl', type: '1', linkpath: '../outside.txt' }, f('hl', 'overwritten')]), ctx)).toMatchObject({ entry: 'hl', kind: 'hardlink' });
    expect(refusal(rawTar([{ path: 'hl', type: '1', linkpath: `${ctx.abs}/outside.txt` }]), ctx)).toMatchObject({ entry: 'hl', kind: 'hardlink' });
    mkdirSync(ctx.target);
    writeFileSync(join(ctx.target, 'present.txt'), 'present');
    expect(refusal(rawTar([{ path: 'hl', type: '1', linkpath: 'present.txt' }]), ctx)).toMatchObject({ entry: 'hl', kind: 'hardlink' });
  });

  it.each([
    ['3', 'character device'],
    ['4', 'block device'],
    ['6', 'fifo'],
  ])('refuses a %s entry (%s)', (type) => {
    const ctx = setup();
    expect(refusal(rawTar([f('ok.txt', 'fine'), { path: 'dev', type }]), ctx)).toMatchObject({ entry: 'dev', kind: 'type' });
    expect(existsSync(join(ctx.target, 'ok.txt'))).toBe(false);
  });

  it('refuses setuid/setgid/sticky files, or clears the bits (mask)', () => {
    const ctx = setup();
    const tar = rawTar([
      { path: 'suid', body: '#!/bin/sh\n', mode: 0o4755 },
      { path: 'sgid/', type: '5', mode: 0o2755 },
    ]);
    expect(refusal(tar, ctx)).toMatchObject({ entry: 'suid', kind: 'mode' });
    expect(safeExtract(tar, ctx.target, policy({ specialModes: 'mask' }))).toEqual(['suid']);
    expect(statSync(join(ctx.target, 'suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(ctx.target, 'sgid')).mode & 0o7000).toBe(0);
  });

  it('refuses an archive past its entry count or byte bound (declared sizes: a bomb is refused before it is read)', () => {
    const ctx = setup();
    const many = rawTar(Array.from({ length: 11 }, (_, i) => f(`f${i}`, '')));
    expect(refusal(many, ctx, { maxEntries: 10 })).toMatchObject({ entry: 'f10', kind: 'count' });
    expect(safeExtract(many, join(ctx.work, 'ok'), policy({ maxEntries: 11 }))).toHaveLength(11);
    expect(refusal(rawTar([f('a', 'x'.repeat(600)), f('b', 'x'.repeat(600))]), ctx, { maxBytes: 2048 })).toMatchObject({ entry: 'b', kind: 'size' });
    expect(refusal(rawTar([{ path: 'bomb', declaredSize: 64 * 2 ** 30 }], { end: false }), ctx, { maxBytes: 1 << 20 })).toMatchObject({ entry: 'bomb', kind: 'size' });
    // A global pax header's size applies to every later entry's declared size, while the bytes
    // read (and written) follow the entry's own pax header: the delivered bytes are what counts.
    const lying = rawTar([
      { path: 'pax_global_header', type: 'g', body: paxRecord('size', '1') },
      { path: 'PaxHeader/big', type: 'x', body: paxRecord('size', String(5_000_000)) },
      { path: 'big', body: Buffer.alloc(5_000_000, 0x61), declaredSize: 0 },
    ]);
    expect(refusal(lying, ctx, { maxBytes: 10_000 })).toMatchObject({ entry: 'big', kind: 'size' });
    expect(existsSync(join(ctx.target, 'big'))).toBe(false);
  });

  it('refuses every symlink when the policy says so', () => {
    const ctx = setup();
    expect(refusal(rawTar([f('a'), { path: 'b', type: '2', linkpath: 'a' }]), ctx, { symlinks: 'refuse' })).toMatchObject({ entry: 'b', kind: 'symlink' });
  });

  it('refuses a name twice, even as a symlink then a file', () => {
    const ctx = setup();
    expect(refusal(rawTar([{ path: 'b', type: '2', linkpath: 'a' }, f('b', 'through the link')]), ctx)).toMatchObject({ entry: 'b', kind: 'duplicate' });
  });

  it('refuses a symlink chain that leaves only on a case-insensitive file system, when folding', () => {
    const ctx = setup();
    // d/b -> .. is the root; a -> D/b/.. is the root's parent where D is d (macOS), inside where it is not.
    const tar = rawTar([
      { path: 'd/b', type: '2', linkpath: '..' },
      { path: 'a', type: '2', linkpath: 'D/b/..' },
    ]);
    expect(refusal(tar, ctx, { foldCase: true })).toMatchObject({ entry: 'a', kind: 'symlink' });
    expect(safeExtract(tar, join(ctx.work, 'exact'), policy({ foldCase: false }))).toEqual(['d/b', 'a']);
  });

  it('reports a truncated archive as corrupt, writing nothing', () => {
    const { target } = setup();
    expect(() => safeExtract(rawTar([f('a.txt', 'x'.repeat(2000))]).subarray(0, 1000), target, policy())).toThrow(expect.objectContaining({ code: 'CODE_PACKAGE_CORRUPT' }));
    expect(existsSync(join(target, 'a.txt'))).toBe(false);
  });
});
