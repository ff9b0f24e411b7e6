import { describe, expect, it } from 'vitest';
import { copyFlow, flow } from '../helpers/cli.js';
import { FLOW_FILE, uxProject } from './project.js';

// #17 item 6: inspect a run, a step or a task with each artifact where it was set; get on a
// foreach step names the tasks (or --all); logs of a step or run prefixes every task's lines;
// gc --keep-last keeps the newest runs of each flow.

describe('reading runs', () => {
  it('inspect RUN/STEP[/TASK], get on a foreach step, logs of a run or step, gc --keep-last per flow', async () => {
    const dir = await uxProject();
    copyFlow(dir, 'linear.ts');
    const run = await flow(['run', FLOW_FILE, '--failBelow', '0.5', '--seed', '8', '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    const [inspectRun, inspectStep, inspectTask, stepJson, taskJson, noTask, inspectStart] = await Promise.all([
      flow(['inspect', 'run-1'], { cwd: dir }),
      flow(['inspect', 'run-1/fit'], { cwd: dir }),
      flow(['inspect', 'run-1/fit/1'], { cwd: dir }),
      flow(['inspect', 'run-1/fit', '--json'], { cwd: dir }),
      flow(['inspect', 'run-1/fit/1', '--json'], { cwd: dir }),
      flow(['inspect', 'run-1/fit/9'], { cwd: dir }),
      flow(['inspect', 'run-1/start/0'], { cwd: dir }),
    ]);
    // The run: each artifact listed once, in the step that set it (params are on the params line).
    expect(inspectRun.exitCode, inspectRun.stderr).toBe(0);
    const rows = inspectRun.stdout
      .split('\n')
      .filter((l) => /^ {2}\w+\/\d+ +\w+ +[0-9a-f]{12} /.test(l))
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(rows).toEqual(['start/0 rows', 'shuffle/0 folds', 'shuffle/0 shuffled', 'fit/0 draw', 'fit/0 score', 'gather/0 scores', 'baseline/0 mean', 'merge/0 best', 'end/0 noise']);
    // The step: its tasks, attempts and what each set.
    expect(inspectStep.stdout).toMatch(/^ {2}1 +ok +3 +\S+ ms +draw, score/m);
    expect((JSON.parse(stepJson.stdout) as { tasks: Array<{ id: string; attempts: number; produced: string[] }> }).tasks.map((t) => [t.id, t.attempts, t.produced])).toEqual([
      ['0', 1, ['draw', 'score']],
      ['1', 3, ['draw', 'score']],
      ['2', 1, ['draw', 'score']],
      ['3', 1, ['draw', 'score']],
    ]);
    // The task: attempts with their seeds and errors, every artifact with where it comes from.
    expect(inspectTask.stdout).toMatch(/^run-1\/fit\/1 {2}ok$/m);
    expect(inspectTask.stdout).toMatch(/foreach {3}shuffle item 1 of 4/);
    expect(inspectTask.stdout).toMatch(/^ {2}0 +failed .*[0-9a-f]{12} +TASK_FAILED: Error: unlucky draw/m);
    expect(inspectTask.stdout).toMatch(/^ {2}score +[0-9a-f]{12} +\d+ B +set here$/m);
    expect(inspectTask.stdout).toMatch(/^ {2}shuffled +[0-9a-f]{12} +\d+ B +carried over from shuffle\/0$/m);
    expect(inspectStart.stdout).toMatch(/^ {2}alpha +[0-9a-f]{12} +\d+ B +parameter$/m);
    expect(inspectStart.stdout).toMatch(/^ {2}rows +[0-9a-f]{12} +\d+ B +set here$/m);
    const task = JSON.parse(taskJson.stdout) as { schema: string; task: { id: string }; sources: Record<string, string | null> };
    expect(task).toMatchObject({ schema: 'flowrun.inspect-task/1', task: { id: '1' }, sources: { score: null, draw: null, shuffled: 'shuffle/0' } });
    expect([noTask.exitCode, noTask.stderr]).toEqual([2, expect.stringMatching(/TASK_NOT_FOUND.*no task 9.*Its tasks: 0, 1, 2, 3/s)]);

    // get: a foreach step's artifact needs a task, or --all; a value all tasks share is fine.
    const [ambiguous, byRun, oneTask, every, everyJson, shared, best] = await Promise.all([
      flow(['get', 'run-1/fit', 'score'], { cwd: dir }),
      flow(['get', 'run-1', 'score'], { cwd: dir }),
      flow(['get', 'run-1/fit/2', 'score'], { cwd: dir }),
      flow(['get', 'run-1/fit', 'score', '--all'], { cwd: dir }),
      flow(['get', 'run-1', 'draw', '--all', '--json'], { cwd: dir }),
      flow(['get', 'run-1/fit', 'shuffled'], { cwd: dir }),
      flow(['get', 'run-1', 'best'], { cwd: dir }),
    ]);
    for (const r of [ambiguous, byRun]) {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/ARTIFACT_AMBIGUOUS: Artifact score of run-1 is set by 4 tasks of step fit \(tasks 0, 1, 2, 3\)/);
      expect(r.stderr).toContain('flow get run-1/fit score --all');
    }
    expect(oneTask.exitCode, oneTask.stderr).toBe(0);
    const scores = every.stdout.split('\n');
    expect(scores.map((l) => l.split(':')[0])).toEqual(['run-1/fit/0', 'run-1/fit/1', 'run-1/fit/2', 'run-1/fit/3']);
    expect(scores[2]).toBe(`run-1/fit/2: ${oneTask.stdout.trim()}`);
    expect((JSON.parse(everyJson.stdout) as { values: Array<{ task: string; step: string }> }).values.map((v) => `${v.step}/${v.task}`)).toEqual(['fit/0', 'fit/1', 'fit/2', 'fit/3']);
    expect(shared.exitCode, shared.stderr).toBe(0);
    expect(best.exitCode, best.stderr).toBe(0);

    // logs: a step's or the run's tasks, each line prefixed with its task (and attempt when retried).
    const [stepLogs, runLogs, firstTries] = await Promise.all([flow(['logs', 'run-1/fit'], { cwd: dir }), flow(['logs', 'run-1', '--stdout'], { cwd: dir }), flow(['logs', 'run-1/fit', '--attempt', '0'], { cwd: dir })]);
    expect(stepLogs.stdout.split('\n')).toEqual([expect.stringMatching(/^\[run-1\/fit\/0\] fit 0 attempt 0 draw /), expect.stringMatching(/^\[run-1\/fit\/1 attempt 2\] fit 1 attempt 2 draw /), expect.stringMatching(/^\[run-1\/fit\/2\] fit 2 attempt 0 /), expect.stringMatching(/^\[run-1\/fit\/3\] fit 3 attempt 0 /)]);
    const runLines = runLogs.stdout.split('\n');
    expect(runLines[0]).toMatch(/^\[run-1\/start\/0\] ctx \{/);
    expect(runLines.at(-1)).toBe(`[run-1/end/0] end run-1 best ${best.stdout.trim()}`);
    expect(runLines.filter((l) => l.startsWith('[run-1/fit/'))).toHaveLength(4);
    expect(firstTries.stderr).toMatch(/^\[run-1\/fit\/1 attempt 0\] Error: unlucky draw/m);
    expect(firstTries.stdout).toMatch(/^\[run-1\/fit\/1 attempt 0\] fit 1 attempt 0 draw /m);

    // gc --keep-last 1 keeps the newest run of each flow, not the newest of all.
    expect((await flow(['run', 'flows/linear.ts', '-q'], { cwd: dir })).exitCode).toBe(0);
    expect((await flow(['run', 'flows/linear.ts', '-q'], { cwd: dir })).exitCode).toBe(0);
    const gc = await flow(['gc', '--keep-last', '1', '--grace-minutes', '0', '--json'], { cwd: dir });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ keptRuns: ['run-3', 'run-1'], deletedRuns: ['run-2'] });
    expect((await flow(['get', 'run-1', 'best'], { cwd: dir })).stdout).toBe(best.stdout);
  }, 120_000);
});
