import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, copyFlow, flow, tempProject } from '../helpers/cli.js';
import { sha256 } from '../../src/util/hash.js';

// Issue #17 item 7: flow spin reruns one task of a past run with the current code on the run's
// recorded inputs, reports what changed, can start under the inspector, and changes nothing of
// the run. run-1 is test/flows/spin-flow.ts with --seed 5 (a foreach of 3 tasks drawing Math.random).

interface Spin {
  id: string;
  status: string;
  of: { run: string; step: string; task: string };
  checks: Array<{ artifact: string; status: string; detail?: string }>;
}

let dir = '';

/** Every file of run-1 with its content hash: proof that nothing of the run changed. */
function runFiles(): Record<string, string> {
  const root = join(dir, '.flow/runs/run-1');
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else out[p] = sha256(readFileSync(join(root, p)));
    }
  };
  walk('');
  return out;
}

beforeAll(async () => {
  dir = await tempProject();
  copyFlow(dir, 'spin-flow.ts');
  const r = await flow(['run', 'flows/spin-flow.ts', '--seed', '5', '-q'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
});

describe('flow spin (#17 item 7)', () => {
  it('reruns a foreach task on its recorded inputs: unchanged code gives every artifact bit for bit', async () => {
    const needsTask = await flow(['spin', 'run-1/fit'], { cwd: dir });
    expect(needsTask.exitCode).toBe(2);
    expect(needsTask.stderr).toMatch(/SPIN_TASK_REQUIRED.*3 tasks \(0, 1, 2\).*flow spin run-1\/fit\/0/s);

    const r = await flow(['spin', 'run-1/fit/1'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^spin-1$/m);
    // Its foreach item (20), the param and its Math.random draws are the recorded ones.
    expect(r.stdout).toContain('[spin-1/fit/1] fit 1: 40');
    expect(r.stdout).toMatch(/spin-1: fit\/1 ok in [\d.]+s; against run-1\/fit\/1: every artifact is the same \(\d+\)/);
  });

  it('with changed code, reports what changed against the recorded task, and the run stays as it was', async () => {
    const before = runFiles();
    const path = join(dir, 'flows/spin-flow.ts');
    writeFileSync(path, readFileSync(path, 'utf8').replace('(this.input as number) * this.scale', '(this.input as number) * this.scale + 1'));
    const r = await flow(['spin', 'run-1/fit/2', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const spin = JSON.parse(r.stdout) as Spin;
    expect(spin).toMatchObject({ status: 'ok', of: { run: 'run-1', step: 'fit', task: '2' } });
    const changed = spin.checks.filter((c) => c.status !== 'same');
    expect(changed).toEqual([{ artifact: 'score', status: 'changed', from: expect.any(String), to: expect.any(String), detail: '60 → 61' }]);
    expect(spin.checks.find((c) => c.artifact === 'noise')?.status).toBe('same');

    const joined = await flow(['spin', 'run-1/join'], { cwd: dir });
    expect(joined.exitCode, joined.stderr).toBe(0);
    expect(joined.stdout).toMatch(/against run-1\/join\/0: every artifact is the same/);

    expect(runFiles()).toEqual(before);
    expect(readdirSync(join(dir, '.flow/runs'))).toEqual(['run-1']);
    expect(existsSync(join(dir, `.flow/spins/${spin.id}/spin.json`))).toBe(true);
    const listed = JSON.parse((await flow(['runs', '--json'], { cwd: dir })).stdout) as { runs: Array<{ id: string }> };
    expect(listed.runs.map((r) => r.id)).toEqual(['run-1']);
  });

  it('--inspect-brk waits for a debugger and stops before the step, whose module maps to the flow file', async () => {
    const child = execa(process.execPath, [join(REPO, 'bin/run.js'), 'spin', 'run-1/fit/0', '--inspect-brk=0'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /waiting for a debugger at (ws:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void child.then(() => reject(new Error(`flow spin ended before its inspector listened:\n${stderr}`)));
    });
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    const client = await execa(process.execPath, ['--experimental-websocket', join(REPO, 'test/helpers/inspector-client.mjs'), url], { reject: false });
    expect(client.exitCode, client.stderr).toBe(0);
    const seen = JSON.parse(client.stdout) as { pausedIn: string; pausedFunction: string; steppedInto: string; sources: string[]; scale: number };
    // In flowrun's task runner, just before the step: execute.ts's runStep, which the runtime
    // build (dist/bundle, issue #18) puts in the library's bundle.
    expect(seen.pausedFunction).toBe('runStep');
    expect(seen.pausedIn).toMatch(/\/dist\/(src\/task\/execute\.js|bundle\/task\/flowrun\.cjs)$/);
    expect(seen.steppedInto).toBe('fit');
    expect(seen.sources.some((s) => s.endsWith('flows/spin-flow.ts'))).toBe(true);
    expect(seen.scale).toBe(2);
    const done = await child;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(String(done.stdout)).toMatch(/spin-\d+: fit\/0 ok/);
  });
});
