import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, copyFlow, flow, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';
import { printFigures } from './figures.js';

// Part 6 of the robustness suite (issue #9): concurrent runs of different flows with `flow gc`
// looping on the same store, and two machines running and pushing to one mirror at once.

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

const FLOWS: Array<[string, string[]]> = [
  ['foreach-squares.ts', ['--n', '30', '--sleep-ms', '40']],
  ['repro-random.ts', ['--n', '12']],
  ['branch-merge.ts', []],
  ['nested-grid.ts', []],
];

const start = (dir: string, args: string[], env: Record<string, string> = {}) => execa(process.execPath, [BIN, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1', ...env } });

describe('robustness: concurrency', () => {
  it('4 concurrent runs of different flows while flow gc loops on the same store: all finish, 0 lost objects, 0 duplicate ids, fsck clean', async () => {
    const dir = await tempProject();
    for (const [file] of FLOWS) copyFlow(dir, file);
    const runs = FLOWS.map(([file, args]) => start(dir, ['run', `flows/${file}`, '--max-workers', '1', '-q', ...args]));
    let gcRounds = 0;
    const finished = () => runs.every((r) => r.exitCode !== null);
    while (!finished()) {
      const gc = await flow(['gc', '--json'], { cwd: dir });
      expect(gc.exitCode, gc.stderr).toBe(0);
      gcRounds++;
    }
    const results = await Promise.all(runs);
    const ids = results.map((r) => r.stdout.split('\n')[0]!.trim());
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const fsck = await flow(['fsck', '--json'], { cwd: dir });
    const report = JSON.parse(fsck.stdout) as { problems: unknown[]; runs: number };
    let readable = 0;
    for (const id of ids) if ((await flow(['inspect', id, '--json'], { cwd: dir })).exitCode === 0) readable++;
    printFigures('concurrency: 4 runs + gc loop on one store', [
      ['concurrent runs', FLOWS.length],
      ['gc rounds during them', gcRounds],
      ['runs finished ok', results.filter((r) => r.exitCode === 0).length],
      ['duplicate run ids', ids.length - new Set(ids).size],
      ['fsck problems (lost objects)', report.problems.length],
      ['runs readable afterwards', readable],
    ]);
    expect(gcRounds).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(FLOWS.length);
    expect(fsck.exitCode, fsck.stdout).toBe(0);
    expect(report.runs).toBe(FLOWS.length);
    expect(readable).toBe(FLOWS.length);
  });

  it('2 machines running and pushing to one mirror at the same time: distinct ids, each sees every run, fsck clean on the mirror', async () => {
    const loc = await server.location();
    const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true', FLOW_MIRROR_AUTO_PUSH: 'false' };
    const machines = [await tempProject(), await tempProject()];
    for (const dir of machines) for (const [file] of FLOWS.slice(0, 2)) copyFlow(dir, file);
    // Each machine runs two flows at once (ids are claimed on the mirror), then both push at once.
    const runs = machines.flatMap((dir) => FLOWS.slice(0, 2).map(([file, args]) => start(dir, ['run', `flows/${file}`, '-q', ...args], env)));
    const results = await Promise.all(runs);
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const ids = results.map((r) => r.stdout.split('\n')[0]!.trim());
    const pushes = await Promise.all(machines.map((dir) => start(dir, ['push'], env)));
    for (const p of pushes) expect(p.exitCode, p.stderr).toBe(0);
    const listed = JSON.parse((await flow(['runs', '--remote', '--json'], { cwd: machines[0]!, env })).stdout) as { runs: Array<{ id: string }> };
    const pulls = await Promise.all(machines.map((dir) => start(dir, ['pull'], env)));
    for (const p of pulls) expect(p.exitCode, p.stderr).toBe(0);
    const fsckRemote = await flow(['fsck', '--remote', '--json'], { cwd: machines[0]!, env });
    const localFsck = await Promise.all(machines.map((dir) => flow(['fsck'], { cwd: dir, env })));
    printFigures('concurrency: 2 machines, 1 mirror', [
      ['runs made', ids.length],
      ['duplicate run ids', ids.length - new Set(ids).size],
      ['runs on the mirror', listed.runs.length],
      ['remote fsck problems', (JSON.parse(fsckRemote.stdout) as { problems: unknown[] }).problems.length],
      ['local fsck failures', localFsck.filter((f) => f.exitCode !== 0).length],
    ]);
    expect(new Set(ids).size).toBe(4);
    expect(listed.runs.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(fsckRemote.exitCode, fsckRemote.stdout).toBe(0);
    for (const f of localFsck) expect(f.exitCode, f.stdout).toBe(0);
  });
});
