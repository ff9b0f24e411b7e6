import { spawn, exec, execSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, step, param, timeout, environment, type Inputs } from 'flowrun';

/**
 * Every split records what it sees of process-wide state, then leaves some behind (split i
 * leaves kind i): environment, cwd, exitCode, listeners, Error.stackTraceLimit, RegExp.$1,
 * pending timers, child processes (attached, detached, orphaned grandchildren), a
 * non-configurable property on a built-in. Run with one worker, every split must see the same.
 */
export default class LeakyStateFlow extends FlowSpec {
  @param({ help: 'make the hang step hang after spawning (for @timeout)' }) hang = false;

  items!: number[];
  seen!: Record<string, unknown>;
  pid!: number;
  seens!: unknown[];
  pids!: number[];

  /** The first task of the worker sets an @environment variable: it must not stick to the worker. */
  @environment({ vars: { FROM_START: 'yes' } })
  @step start() {
    this.items = [0, 1, 2, 3, 4, 5, 6, 7];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    const i = this.input as number;
    this.pid = process.pid;
    this.seen = {
      env: process.env.LEAKED ?? null, fromStart: process.env.FROM_START ?? null, cwd: process.cwd().endsWith('elsewhere'), exitCode: process.exitCode ?? null,
      listeners: process.listenerCount('beforeExit'), stackTraceLimit: Error.stackTraceLimit, regexp: RegExp.$1,
      last: 'last' in [], global: 'leaked' in globalThis, timerFired: (globalThis as { timerFired?: boolean }).timerFired ?? false,
    };
    const pids = join(process.cwd(), 'pids');
    mkdirSync(pids, { recursive: true });
    const note = (pid: number | undefined) => appendFileSync(join(pids, `${i}.txt`), `${pid}\n`);
    if (i === 0) { process.env.LEAKED = 'yes'; process.exitCode = 7; process.on('beforeExit', () => {}); Error.stackTraceLimit = 2; /(remembered)/.exec('remembered'); (globalThis as Record<string, unknown>).leaked = 1; }
    if (i === 1) { mkdirSync('elsewhere', { recursive: true }); process.chdir('elsewhere'); }
    if (i === 2) { setTimeout(() => { (globalThis as { timerFired?: boolean }).timerFired = true; console.log('late timer'); }, 200); setInterval(() => {}, 50).unref(); }
    if (i === 3) { note(spawn('sleep', ['60'], { stdio: 'inherit' }).pid); note(spawn('sleep', ['61'], { detached: true, stdio: 'ignore' }).pid); }
    if (i === 4) { execSync(`sh -c 'sleep 62 & echo $! > ${join(pids, '4.txt')}'`, { stdio: 'ignore' }); note(exec('sleep 63; echo late child output').pid); }
    if (i === 5) Object.defineProperty(Array.prototype, 'last', { value: 1 });
    this.next(this.join);
  }

  @step join(inputs: Inputs<LeakyStateFlow>) {
    this.seens = inputs.map((x) => x.seen);
    this.pids = inputs.map((x) => x.pid);
    this.next(this.hangs);
  }

  /** Starts children and then (with --hang) runs past its @timeout. */
  @timeout({ seconds: 2 })
  @step async hangs() {
    const pids = join(process.cwd(), 'pids');
    appendFileSync(join(pids, 'hang.txt'), `${spawn('sleep', ['64'], { stdio: 'inherit' }).pid}\n${spawn('sleep', ['65'], { detached: true, stdio: 'ignore' }).pid}\n`);
    if (this.hang) await new Promise(() => { setInterval(() => {}, 1000); });
    this.next(this.end);
  }

  @step end() {}
}
