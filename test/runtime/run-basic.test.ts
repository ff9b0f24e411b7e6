import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';

describe('flow run (basic)', () => {
  it('runs the example train flow: prints the run id, exits 0, records every task', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'train.ts');
    const r = await flow(['run', 'flows/train.ts', '--folds', '5', '--alpha=0.5'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('run-1');
    const run = JSON.parse(readFileSync(join(dir, '.flow/runs/run-1/run.json'), 'utf8'));
    expect(run).toMatchObject({ status: 'ok', flow: 'TrainFlow', params: { alpha: 0.5, folds: 5 } });
    expect(run.summary).toMatchObject({ start: { ok: 1 }, fit: { ok: 5 }, join: { ok: 1 }, end: { ok: 1 } });
    const join0 = JSON.parse(readFileSync(join(dir, '.flow/runs/run-1/tasks/join/0.json'), 'utf8'));
    expect(join0.parents).toEqual(['fit/0', 'fit/1', 'fit/2', 'fit/3', 'fit/4']);
  });

  it('rejects an unknown parameter and an ill-typed one before running', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'train.ts');
    const unknown = await flow(['run', 'flows/train.ts', '--fols', '5'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/PARAM_UNKNOWN.*--fols/s);
    expect(unknown.stderr).toMatch(/Did you mean --folds/);
    const typed = await flow(['run', 'flows/train.ts', '--folds', 'abc'], { cwd: dir });
    expect(typed.exitCode).toBe(2);
    expect(typed.stderr).toMatch(/PARAM_TYPE.*--folds expects a number, got "abc"/s);
  });
});

describe('joins', () => {
  it('reading an artifact only some branches set is ARTIFACT_NOT_FOUND naming the join, input and artifact', async () => {
    const dir = await tempProject({
      'flows/partial.ts': `import { FlowSpec, step, type Inputs } from 'flowrun';
export default class Partial extends FlowSpec {
  a?: number;
  s!: number;
  @step start() { this.next(this.x, this.y); }
  @step x() { this.a = 1; this.next(this.join); }
  @step y() { this.next(this.join); }
  @step join(inputs: Inputs<Partial>) { this.s = inputs.map((i) => i.a!).reduce((p, q) => p + q, 0); this.next(this.end); }
  @step end() {}
}
`,
    });
    const r = await flow(['run', 'flows/partial.ts', '--max-workers', '2'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ARTIFACT_NOT_FOUND: Join join read a from its input y\/0, which has no artifact a/);
  });
});

describe('failed steps', () => {
  it('flow logs shows the error with a stack trace pointing at the flow file and line', async () => {
    const dir = await tempProject({
      'flows/boom.ts': `import { FlowSpec, step } from 'flowrun';
export default class Boom extends FlowSpec {
  @step start() { this.next(this.end); }
  @step end() {
    throw new Error('kaboom');
  }
}
`,
    });
    const r = await flow(['run', 'flows/boom.ts', '-q'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const logs = await flow(['logs', `${r.stdout.trim()}/end/0`], { cwd: dir });
    expect(logs.stderr).toMatch(/Error: kaboom/);
    expect(logs.stderr).toMatch(/at Boom\.end \(.*flows\/boom\.ts:5:\d+\)/);
  });
});
