import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import { extractCodePackage } from '../../src/package/code-package.js';
import type { RunRecord } from '../../src/runtime/records.js';
import { LocalStore } from '../../src/store/local.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { LONG, printFigures } from './figures.js';
import { type RawEntry, header, paxRecord, rawTar } from './raw-tar.js';

// Part 4 of the robustness suite (issue #9): code packages built by an attacker (planted in the
// store under a run record) are refused by every extraction path — the extractor itself,
// `flow code --extract` and `flow replay` — and none writes a byte outside its target.
// (Conda archives and the Batch bootstrap belong to the environments and Batch work.)

/** Every file, directory and symlink under `dir`, with size and mtime: what a write would change. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false }) ?? { isDirectory: () => false, size: -1, mtimeMs: 0 };
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
    { name: 'tar bomb: entries summing past the limit', tar: rawTar(Array.from({ length: 12 }, (_, i) => bigDecl(i)), { end: false }) },
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
      await Promise.all(list.slice(i, i + 4).map(async (a, j) => {
        const id = runs[i + j]!;
        const target = join(work, `target-${i + j}`);
        const cliTarget = join(work, `cli-target-${i + j}`);
        targets.push(target, cliTarget);
        let direct = false;
        try { extractCodePackage(a.tar, target); } catch (e) { direct = isFlowError(e) && e.exitCode === 3 && /^CODE_PACKAGE_(UNSAFE|CORRUPT)$/.test(e.code); }
        // Every archive goes through the CLI in --long; CI sends a spread of kinds (each CLI call is a process).
        if (!LONG && !CLI_SAMPLE.has(i + j)) {
          if (direct) extractorOnly++;
          else failures.push(`${a.name}: extractor ACCEPTED`);
          return;
        }
        cliTried++;
        const env = { TMPDIR: tmp };
        const [code, replay] = await Promise.all([
          flow(['code', id, '--extract', cliTarget], { cwd: project, env }),
          flow(['replay', id, '-q'], { cwd: project, env }),
        ]);
        const cliOk = (r: typeof code) => r.exitCode === 3 && /CODE_PACKAGE_(UNSAFE|CORRUPT)/.test(r.stderr) && !/\n\s+at /.test(r.stderr);
        if (direct && cliOk(code) && cliOk(replay)) refused++;
        else failures.push(`${a.name}: extractor ${direct ? 'refused' : 'ACCEPTED'}; code --extract ${code.exitCode} ${code.stderr.slice(0, 160)}; replay ${replay.exitCode} ${replay.stderr.slice(0, 160)}`);
      }));
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
