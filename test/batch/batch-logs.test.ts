import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { BIN, flow, tempProject } from '../helpers/cli.js';

// Logs of Batch tasks (issue #15): a running task's output is uploaded every few seconds and
// `flow logs --follow` prints it while it runs; a task that died before uploading its output has
// it read from the job's CloudWatch log stream, named on the attempt record.

const runnable = batchTestsRunnable();
let world: BatchWorld;
beforeAll(async () => {
  if (runnable) world = await startBatchWorld();
});
afterAll(async () => {
  await world?.stop();
});

const FLOWS = {
  'flows/crash.ts': `import { FlowSpec, step, batch } from 'flowrun';
export default class CrashFlow extends FlowSpec {
  @batch({ cpu: 1 })
  @step async start() {
    console.log('the story so far: loaded 3 shards');
    console.error('about to lose the container');
    await new Promise((r) => setTimeout(r, 200));
    process.kill(process.ppid, 'SIGKILL'); // the job's main process dies: nothing is uploaded
    await new Promise((r) => setTimeout(r, 60_000));
    this.next(this.end);
  }
  @step end() {}
}
`,
  'flows/slow.ts': `import { FlowSpec, step, batch } from 'flowrun';
export default class SlowFlow extends FlowSpec {
  @batch({ cpu: 1 })
  @step async start() {
    for (let i = 1; i <= 4; i++) {
      console.log('tick ' + i);
      await new Promise((r) => setTimeout(r, 1500));
    }
    this.next(this.end);
  }
  @step end() {}
}
`,
};

describe.skipIf(!runnable)('logs of Batch tasks', () => {
  it('a task that died before uploading: flow logs reads its CloudWatch stream (recorded on the attempt)', async () => {
    const dir = await tempProject(FLOWS);
    await configureBatch(dir, world);
    const r = await flow(['run', 'flows/crash.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode).toBe(1);
    const logs = await flow(['logs', 'run-1/start/0'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stderr).toMatch(/--- the job's container output \(CloudWatch \/aws\/batch\/job\/flowrun-\S+\/default\/\S+\); the task died before uploading its own ---/);
    expect(logs.stderr).toContain('the story so far: loaded 3 shards');
    expect(logs.stderr).toContain('about to lose the container');
    expect(logs.stderr).toContain('flowrun bootstrap: run-1/start/0 attempt 1');
  }, 120_000);

  it("flow logs --follow prints a running task's output as it is uploaded, and ends with the task", async () => {
    const dir = await tempProject(FLOWS);
    await configureBatch(dir, world, { logEverySeconds: 1 });
    const run = execa(process.execPath, [BIN, 'run', 'flows/slow.ts', '-q'], { cwd: dir, env: ORCHESTRATOR_ENV, reject: false });
    let runEnded = false;
    void run.then(() => {
      runEnded = true;
    });
    while (!(world.batch.emulator.allJobs() as unknown as Array<{ jobName: string; status: string }>).some((j) => j.jobName === 'SlowFlow-run-1-start' && j.status === 'RUNNING')) await sleep(100);
    const follow = execa(process.execPath, [BIN, 'logs', 'run-1/start/0', '--follow'], { cwd: dir, env: ORCHESTRATOR_ENV, reject: false });
    let seenWhileRunning = false;
    follow.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('tick 1') && !runEnded) seenWhileRunning = true;
    });
    const [followed, ran] = await Promise.all([follow, run]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(followed.exitCode, followed.stderr).toBe(0);
    expect(followed.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4'); // (execa strips the last newline)
    expect(seenWhileRunning).toBe(true);
  }, 120_000);
});
