import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';

// What keeps `flow run` of a small flow fast (issue #18), checked on what the run does rather
// than on timings: its worker starts before the CLI is loaded (two Node start-ups side by side,
// not one after the other), and it starts no process it does not need.
const PROBE = join(REPO, 'test', 'helpers', 'spawn-probe.cjs');
const WORKER = join(REPO, 'dist', 'bundle', 'task', 'worker.cjs');

interface Spawned {
  pid: number;
  file: string;
  args: string[];
}
interface Traced {
  spawns: Spawned[];
  events: string[];
  marks: Array<{ pid: number; label: string }>;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `flow ARGS` with the spawn probe preloaded and FLOW_TRACE on: what it started, in order. */
async function traced(args: string[], cwd: string): Promise<Traced> {
  const trace = join(tempDir('flowrun-trace-'), 'trace.txt');
  const r = await execa(process.execPath, ['-r', PROBE, join(REPO, 'bin', 'run.js'), ...args], { cwd, reject: false, stdin: 'ignore', env: { FLOW_TRACE: trace } });
  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
  const spawns = lines
    .filter((l) => l.startsWith('spawn '))
    .map((l) => {
      const [, pid, file, ...rest] = l.split(' ');
      return { pid: Number(pid), file: file!, args: JSON.parse(rest.join(' ')) as string[] };
    });
  const marks = lines
    .filter((l) => /^\d/.test(l))
    .map((l) => {
      const [, pid, , ...label] = l.split(' ');
      return { pid: Number(pid), label: label.join(' ') };
    });
  return { spawns, events: lines.map((l) => (l.startsWith('spawn ') ? `spawn ${l.split(' ')[2]}` : /^\d/.test(l) ? l.split(' ').slice(3).join(' ') : l)), marks, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

let dir = '';
let file = '';

beforeAll(async () => {
  dir = await tempProject();
  file = copyFlow(dir, 'linear.ts');
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flow'], { cwd: dir });
  // Compiles the flow into the project's build cache, as the first run of a flow does.
  expect((await flow(['run', file, '-q'], { cwd: dir })).exitCode).toBe(0);
});

describe('flow run: its worker starts beside the CLI', () => {
  it("bin/run.js forks the worker before it loads the CLI bundle, and the run's tasks run in that worker: one worker process for a linear flow", async () => {
    const r = await traced(['run', file, '-q'], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const workers = r.spawns.filter((s) => s.args.includes(WORKER));
    expect(workers).toHaveLength(1);
    expect(r.events.indexOf(`spawn ${workers[0]!.file}`)).toBeLessThan(r.events.indexOf('bundle'));
    const taskPids = new Set(r.marks.filter((m) => m.label.startsWith('worker job ')).map((m) => m.pid));
    expect([...taskPids]).toEqual([workers[0]!.pid]);
    expect(r.marks.filter((m) => m.label.startsWith('worker job ')).map((m) => m.label)).toEqual(['worker job start', 'worker job double', 'worker job describe', 'worker job end']);
  });

  it('a run of a committed, compiled flow starts two processes: its worker and one sh running its git commands (no esbuild on a build cache hit; no git beyond these: each costs the 2 cores a fork and a git start-up)', async () => {
    const r = await traced(['run', file, '-q'], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.spawns.map((s) => (s.args.includes(WORKER) ? 'worker' : `${s.file} ${s.args.join(' ').slice(0, 60)}`))).toEqual(['worker', expect.stringMatching(/^sh -c 'git' /)]);
    const script = r.spawns[1]!.args.at(-1)!;
    const gitCommands = script
      .split('\n')
      .filter((l) => l.startsWith("'git' "))
      .map((l) => l.split("'core.pager=cat' ")[1]!.split(' ').slice(0, 2).join(' '));
    expect(gitCommands.sort()).toEqual(["'config' '-z'", "'diff' 'HEAD'", "'ls-files' '-z'", "'rev-parse' '--show-toplevel'", "'status' '--porcelain=v2'"]);
  });

  it('a run that fails before it starts (no such flow file) exits at once, and its early worker goes with it', async () => {
    const r = await traced(['run', 'flows/missing.ts'], dir);
    expect(r.exitCode).toBe(2);
    const worker = r.spawns.find((s) => s.args.includes(WORKER));
    expect(worker).toBeDefined();
    await expect
      .poll(
        () => {
          try {
            process.kill(worker!.pid, 0);
            return true;
          } catch {
            return false;
          }
        },
        { timeout: 10_000 },
      )
      .toBe(false);
  });

  it('a worker is ready without the Node modules only some tasks use (inspector, worker_threads, perf_hooks) or that ES facades of built-ins load (webcrypto, parseArgs, MIMEType); node:crypto is loaded, its hashing captured before any task', async () => {
    const out = join(tempDir('flowrun-worker-modules-'), 'modules.txt');
    const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: ['-r', join(REPO, 'test', 'helpers', 'worker-modules-probe.cjs')], serialization: 'advanced', env: { ...process.env, FLOW_TEST_WORKER_MODULES: out } });
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { type?: string }) => {
        if (m.type === 'ready') resolve();
      });
      child.on('exit', (code) => reject(new Error(`the worker exited with ${code} before it was ready`)));
    });
    child.disconnect();
    const loaded = readFileSync(out, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule crypto');
    const unwanted = ['inspector', 'worker_threads', 'perf_hooks', 'internal/crypto/webcrypto', 'internal/util/parse_args/parse_args', 'internal/mime', 'internal/fs/streams'];
    expect(unwanted.filter((m) => loaded.includes(`NativeModule ${m}`))).toEqual([]);
  });

  it('no early worker for help or a run sent to Batch as a whole (its steps need none), nor for other commands', () => {
    const { wantsEarlyWorker } = createRequire(import.meta.url)(join(REPO, 'bin', 'early-worker.js')) as { wantsEarlyWorker: (argv: string[]) => boolean };
    expect(wantsEarlyWorker(['run', 'f.ts'])).toBe(true);
    expect(wantsEarlyWorker(['run', 'f.ts', '--with', 'retry:times=2'])).toBe(true);
    expect(wantsEarlyWorker(['run', 'f.ts', '--alpha', 'batch'])).toBe(true);
    expect(wantsEarlyWorker(['run', 'f.ts', '--help'])).toBe(false);
    expect(wantsEarlyWorker(['run', '-h'])).toBe(false);
    expect(wantsEarlyWorker(['run', 'f.ts', '--with', 'batch:queue=q'])).toBe(false);
    expect(wantsEarlyWorker(['run', 'f.ts', '--with=batch'])).toBe(false);
    expect(wantsEarlyWorker(['show', 'f.ts'])).toBe(false);
    expect(wantsEarlyWorker(['resume', 'f.ts'])).toBe(false);
  });
});
