import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, lstatSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalPackageTier, condaPlatform, installCondaLock } from '../../src/env/conda.js';
import { isFlowError } from '../../src/errors/index.js';
import { extractCodePackage } from '../../src/package/code-package.js';
import type { RunRecord } from '../../src/metadata/records.js';
import { LocalStore } from '../../src/store/local.js';
import { sha256 } from '../../src/util/hash.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { LONG, printFigures } from './figures.js';
import { type RawEntry, header, paxRecord, rawTar } from './raw-tar.js';

// Part 4 of the robustness suite (issue #9): code packages built by an attacker (planted in the
// store under a run record) are refused by every extraction path — the extractor itself,
// `flow code --extract` and `flow replay` — and none writes a byte outside its target.
// The same archives as conda packages go through the conda installer (last describe). (The Batch
// bootstrap belongs to the Batch work.)

/**
 * Every file, directory and symlink under `dir`, with size and mtime: what a write would change.
 * Symlinks are recorded, not followed: the project's node_modules/flowrun links to this checkout,
 * whose files (git's own, under other engineers' work) change for reasons of their own.
 */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p, { throwIfNoEntry: false }) ?? { isDirectory: () => false, size: -1, mtimeMs: 0 };
      out.set(p, `${st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function changes(before: Map<string, string>, after: Map<string, string>, inside: string[]): string[] {
  const out: string[] = [];
  for (const [p, v] of after) if (before.get(p) !== v && !inside.some((t) => p === t || p.startsWith(`${t}/`))) out.push(p);
  for (const p of before.keys()) if (!after.has(p)) out.push(`${p} (deleted)`);
  return out;
}

/** Archives also sent through the CLI in CI: ../, symlink escape, hard link escape, size lie, PAX rename, tar bomb. */
const CLI_SAMPLE = new Set([0, 3, 6, 11, 14, 17]);

let base: { project: string; template: RunRecord; abs: string };

/** The archives. ABS is an absolute directory outside every target (its own sentinel). */
function archives(abs: string): Array<{ name: string; tar: Buffer }> {
  const f = (path: string, body = 'evil'): RawEntry => ({ path, body });
  const smuggled = Buffer.concat([Buffer.from('0123456789'), Buffer.alloc(502), header({ path: '../smuggled.txt' }, 4), Buffer.from('evil'), Buffer.alloc(508)]);
  const bigDecl = (i: number): RawEntry => ({ path: `part${i}.bin`, declaredSize: 48 << 20 });
  return [
    { name: '../ entry', tar: rawTar([f('../evil.txt')]) },
    { name: 'a/../../ entry', tar: rawTar([f('a/'), f('a/../../evil.txt')]) },
    { name: 'absolute path', tar: rawTar([f(`${abs}/evil.txt`)]) },
    { name: 'symlink to .. then a file through it', tar: rawTar([{ path: 'up', type: '2', linkpath: '../..' }, f('up/evil.txt')]) },
    { name: 'symlink to an absolute dir then a file through it', tar: rawTar([{ path: 'abs', type: '2', linkpath: abs }, f('abs/evil.txt')]) },
    { name: 'symlink chain escaping only when followed', tar: rawTar([{ path: 'a', type: '2', linkpath: 'b/..' }, { path: 'b', type: '2', linkpath: '..' }, f('a/evil.txt')]) },
    { name: 'hard link to ../outside.txt, then written', tar: rawTar([{ path: 'hl', type: '1', linkpath: '../outside.txt' }, f('hl', 'overwritten')]) },
    { name: 'hard link to an absolute file', tar: rawTar([{ path: 'hl', type: '1', linkpath: `${abs}/outside.txt` }]) },
    { name: 'character device', tar: rawTar([{ path: 'tty', type: '3' }]) },
    { name: 'block device', tar: rawTar([{ path: 'sda', type: '4' }]) },
    { name: 'fifo', tar: rawTar([{ path: 'pipe', type: '6' }]) },
    { name: 'entry larger than its declared size (smuggled header)', tar: rawTar([{ path: 'small.txt', body: smuggled, declaredSize: 10 }]) },
    { name: 'duplicate entries', tar: rawTar([f('x.txt', 'first'), f('x.txt', 'second')]) },
    { name: 'file replaced by a symlink, then written through', tar: rawTar([f('x', 'plain'), { path: 'x', type: '2', linkpath: abs }, f('x/evil.txt')]) },
    { name: 'PAX header renaming an entry to ../', tar: rawTar([{ path: 'PaxHeader', type: 'x', body: paxRecord('path', '../pax-evil.txt') }, f('innocent.txt')]) },
    { name: 'GNU long name with ../', tar: rawTar([{ path: '././@LongLink', type: 'L', body: '../../gnu-evil.txt\0' }, f('short.txt')]) },
    { name: 'setuid file', tar: rawTar([{ path: 'suid', body: '#!/bin/sh', mode: 0o4755 }]) },
    { name: 'tar bomb: one entry declaring 64 GiB', tar: rawTar([{ path: 'bomb.bin', declaredSize: 64 * 2 ** 30 }], { end: false }) },
    {
      name: 'tar bomb: entries summing past the limit',
      tar: rawTar(
        Array.from({ length: 12 }, (_, i) => bigDecl(i)),
        { end: false },
      ),
    },
    { name: 'truncated archive', tar: rawTar([f('a.txt', 'x'.repeat(2000))]).subarray(0, 1000) },
  ];
}

beforeAll(async () => {
  const project = await tempProject();
  copyFlow(project, 'linear.ts');
  const r = await flow(['run', 'flows/linear.ts', '-q'], { cwd: project });
  expect(r.exitCode, r.stderr).toBe(0);
  const template = JSON.parse(readFileSync(join(project, '.flow/runs/run-1/run.json'), 'utf8')) as RunRecord;
  const abs = tempDir('flowrun-abs-');
  writeFileSync(join(abs, 'outside.txt'), 'original');
  base = { project, template, abs };
}, 60_000);

describe('malicious code packages', () => {
  it('are refused by the extractor, flow code --extract and flow replay, with nothing written outside the target', async () => {
    const { project, template, abs } = base;
    const list = archives(abs);
    const store = LocalStore.open(join(project, '.flow'));
    const work = tempDir('flowrun-evil-');
    writeFileSync(join(work, 'outside.txt'), 'original');
    const tmp = join(work, 'tmp');
    mkdirSync(tmp);
    // Plant each archive as the code package of its own run record (run-2, run-3, ...).
    const runs = list.map((a, i) => {
      const id = `run-${i + 2}`;
      mkdirSync(join(project, '.flow/runs', id), { recursive: true });
      writeFileSync(join(project, '.flow/runs', id, 'run.json'), JSON.stringify({ ...template, id, code: { ...template.code!, hash: store.putObjectSync(a.tar) } }));
      cpSync(join(project, '.flow/runs/run-1/tasks'), join(project, '.flow/runs', id, 'tasks'), { recursive: true });
      return id;
    });
    const watched = [work, abs, project];
    const before = new Map([...watched].flatMap((d) => [...snapshot(d)]));
    let refused = 0;
    let extractorOnly = 0;
    let cliTried = 0;
    const failures: string[] = [];
    const targets: string[] = [join(project, '.flow')]; // the store itself may change (objects, runs)
    for (let i = 0; i < list.length; i += 4) {
      await Promise.all(
        list.slice(i, i + 4).map(async (a, j) => {
          const id = runs[i + j]!;
          const target = join(work, `target-${i + j}`);
          const cliTarget = join(work, `cli-target-${i + j}`);
          targets.push(target, cliTarget);
          let direct = false;
          try {
            extractCodePackage(a.tar, target);
          } catch (e) {
            direct = isFlowError(e) && e.exitCode === 3 && /^CODE_PACKAGE_(UNSAFE|CORRUPT)$/.test(e.code);
          }
          // Every archive goes through the CLI in --long; CI sends a spread of kinds (each CLI call is a process).
          if (!LONG && !CLI_SAMPLE.has(i + j)) {
            if (direct) extractorOnly++;
            else failures.push(`${a.name}: extractor ACCEPTED`);
            return;
          }
          cliTried++;
          const env = { TMPDIR: tmp };
          const [code, replay] = await Promise.all([flow(['code', id, '--extract', cliTarget], { cwd: project, env }), flow(['replay', id, '-q'], { cwd: project, env })]);
          const cliOk = (r: typeof code) => r.exitCode === 3 && /CODE_PACKAGE_(UNSAFE|CORRUPT)/.test(r.stderr) && !/\n\s+at /.test(r.stderr);
          if (direct && cliOk(code) && cliOk(replay)) refused++;
          else failures.push(`${a.name}: extractor ${direct ? 'refused' : 'ACCEPTED'}; code --extract ${code.exitCode} ${code.stderr.slice(0, 160)}; replay ${replay.exitCode} ${replay.stderr.slice(0, 160)}`);
        }),
      );
    }
    const after = new Map([...watched].flatMap((d) => [...snapshot(d)]));
    // The replay temp dirs come and go inside tmp (changing its mtime); an escape from one would land in tmp itself.
    after.set(tmp, before.get(tmp)!);
    const outside = changes(before, after, targets);
    const leftovers = readdirSync(tmp);
    printFigures('malicious code packages (extractor, flow code --extract, flow replay)', [
      ['archives tried', list.length],
      ['refused by the extractor (exit 3)', refused + extractorOnly],
      ['refused by flow code --extract and flow replay too', `${refused}/${cliTried}${cliTried < list.length ? ' (a spread of kinds; --long: all)' : ''}`],
      ['writes outside the target', outside.length],
      ['replay temp dirs left behind', leftovers.length],
    ]);
    expect(failures).toEqual([]);
    expect(outside).toEqual([]);
    expect(leftovers).toEqual([]);
    expect(readFileSync(join(work, 'outside.txt'), 'utf8')).toBe('original');
    expect(readFileSync(join(abs, 'outside.txt'), 'utf8')).toBe('original');
    expect(existsSync(join(work, 'smuggled.txt'))).toBe(false);
  }, 180_000);
});

/** The names in a tar's headers (as a paths.json would list them), walking the headers the sizes point to. */
function entryNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = h[124]! & 0x80 ? Infinity : parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    if ('0\u00001234567'.includes(type)) names.push(h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '').replace(/\/$/, ''));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names.filter(Boolean);
}

describe('malicious conda packages', () => {
  // The same attacker-written tars as conda packages (.tar.bz2 with an info/index.json and a
  // paths.json listing every entry), installed from the package cache (the channel and the
  // sha256 are trusted at solve time; these bytes got past both). Each install must end in a
  // coded error or an environment holding only what it lists, with nothing written outside it.
  it('are refused (or their tricks neutralised) by the conda installer, with nothing written outside the environment cache', async () => {
    const { abs } = base;
    const work = tempDir('flowrun-evil-conda-');
    writeFileSync(join(work, 'outside.txt'), 'original');
    const cache = join(work, 'cache');
    const saved = process.env.FLOW_CACHE_DIR;
    process.env.FLOW_CACHE_DIR = cache;
    const tier = new LocalPackageTier();
    const before = new Map([...snapshot(work), ...snapshot(abs)]);
    const outcomes: string[] = [];
    try {
      for (const [i, a] of archives(abs).entries()) {
        const name = `evil-${i}`;
        const listed = entryNames(a.tar);
        const info = rawTar(
          [
            { path: 'info/index.json', body: JSON.stringify({ name, version: '1.0', build: '0', build_number: 0, depends: [], subdir: 'noarch', noarch: 'generic' }) },
            { path: 'info/paths.json', body: JSON.stringify({ paths_version: 1, paths: listed.filter((p) => !p.startsWith('info/')).map((p) => ({ _path: p, path_type: 'hardlink' })) }) },
          ],
          { end: false },
        );
        const bytes = execFileSync('bzip2', ['-c'], { input: Buffer.concat([info, a.tar]) });
        const digest = sha256(bytes);
        await tier.put(digest, bytes);
        const lock = Buffer.from(JSON.stringify({ schema: 'flowrun.conda-lock/1', platform: condaPlatform(), packages: [{ name, version: '1.0', build: '0', url: `http://127.0.0.1:9/evil/noarch/${name}-1.0-0.tar.bz2`, sha256: digest }] }));
        try {
          await installCondaLock(lock, sha256(lock), { steps: ['start'], info: () => {} });
          outcomes.push(`${a.name}: installed`);
        } catch (e) {
          outcomes.push(`${a.name}: ${isFlowError(e) && (e.exitCode === 3 || e.exitCode === 4) ? e.code : `CRASH ${String(e)}`}`);
        }
      }
    } finally {
      if (saved === undefined) delete process.env.FLOW_CACHE_DIR;
      else process.env.FLOW_CACHE_DIR = saved;
    }
    const after = new Map([...snapshot(work), ...snapshot(abs)]);
    const outside = changes(before, after, [cache]);
    const crashes = outcomes.filter((o) => o.includes('CRASH'));
    const installed = outcomes.filter((o) => o.endsWith('installed'));
    if (process.env.FLOW_ROBUSTNESS_VERBOSE) console.log(outcomes.join('\n'));
    printFigures('malicious conda packages (installCondaLock)', [
      ['packages tried', outcomes.length],
      ['refused with a coded error (exit 3/4)', outcomes.length - crashes.length - installed.length],
      ['installed with the trick neutralised', `${installed.length} (${installed.map((o) => o.split(':')[0]).join(', ') || 'none'})`],
      ['crashes (uncoded errors)', crashes.length],
      ['writes outside the environment cache', outside.length],
    ]);
    expect(crashes).toEqual([]);
    expect(outside).toEqual([]);
    // Only the setuid file is harmless once its mode is masked; truncated and bomb archives are refused, not half-extracted.
    expect(installed).toEqual(['setuid file: installed']);
    expect(readFileSync(join(work, 'outside.txt'), 'utf8')).toBe('original');
    expect(readFileSync(join(abs, 'outside.txt'), 'utf8')).toBe('original');
    // A setuid bit never reaches the environment.
    for (const dir of existsSync(join(cache, 'conda')) ? readdirSync(join(cache, 'conda')) : []) {
      const suid = join(cache, 'conda', dir, 'suid');
      if (existsSync(suid)) expect(statSync(suid).mode & 0o7000).toBe(0);
    }
  }, 120_000);
});
