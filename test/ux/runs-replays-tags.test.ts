import { readFileSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Flow, Run, defaultNamespace, namespace } from '../../src/client/client.js';
import { current } from '../../src/flow/current.js';
import { S3Store } from '../../src/store/s3.js';
import { flow } from '../helpers/cli.js';
import { Forger } from '../helpers/forge.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';
import { FLOW_FILE, recordOf, runIdOf, uxProject } from './project.js';

// #17 items 1, 4, 5: replays are their own kind of run, runs record their user and steps read
// their run context, tags change after the fact and runs are listed by flow, tag, status, user.

interface Rec {
  user?: string;
  tags: string[];
  replayOf?: string;
  whatIf?: Record<string, unknown>;
  verdict?: { reproduced: boolean };
  status: string;
}
interface Listed {
  id: string;
  status: string;
  kind: string;
  recordedStatus?: string;
  user?: string;
  tags: string[];
}

const ctxOf = (stdout: string) => JSON.parse(/ctx (\{.*\})/.exec(stdout)![1]!) as Record<string, unknown>;
const listed = async (dir: string, ...args: string[]) => {
  const r = await flow(['runs', ...args, '--json'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { runs: Listed[] }).runs;
};
const ids = (runs: Array<{ id: string }>) => runs.map((r) => r.id);

describe('replays, users, run context, tags and listing', () => {
  it('keeps replays and what-ifs apart from runs, records who ran what, and lists and tags runs by every filter', async () => {
    const dir = await uxProject();
    const alice = { FLOW_USER: 'alice' };
    const r1 = await flow(['run', FLOW_FILE, '--tag', 'nightly', '--seed', '8', '-q'], { cwd: dir, env: alice });
    expect(r1.exitCode, r1.stderr).toBe(0);
    const r2 = await flow(['run', FLOW_FILE, '--user', 'bob', '--alpha', '0.7', '-q'], { cwd: dir, env: alice });
    expect(r2.exitCode, r2.stderr).toBe(0);
    const replay = await flow(['replay', 'run-1', '-q'], { cwd: dir, env: alice });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    const whatIf = await flow(['replay', 'run-1', '--alpha', '0.9', '--tag', 'probe', '-q'], { cwd: dir, env: alice });
    expect(runIdOf(whatIf.stdout)).toBe('run-4');
    // A replay whose step reads the environment (UX_NOISE) does not reproduce; no FLOW_USER: the OS account.
    const diverged = await flow(['replay', 'run-1', '-q'], { cwd: dir, env: { UX_NOISE: 'loud' } });
    expect(diverged.exitCode).toBe(1);

    // Records: who, what kind, verdicts; the origin's user tags are not copied onto replays.
    expect(recordOf<Rec>(dir, 'run-1')).toMatchObject({ user: 'alice', tags: ['nightly'] });
    expect(recordOf<Rec>(dir, 'run-2')).toMatchObject({ user: 'bob', tags: [] });
    expect(recordOf<Rec>(dir, 'run-3')).toMatchObject({ user: 'alice', tags: [], replayOf: 'run-1', verdict: { reproduced: true } });
    const rec4 = recordOf<Rec>(dir, 'run-4');
    expect(rec4).toMatchObject({ replayOf: 'run-1', whatIf: { alpha: 0.9 }, tags: ['probe'] });
    expect(rec4.verdict).toBeUndefined();
    expect(recordOf<Rec>(dir, 'run-5')).toMatchObject({ user: userInfo().username, replayOf: 'run-1', status: 'ok', verdict: { reproduced: false } });

    // Reads run side by side: the run context a step reads (printed by start, read back from its
    // log), and flow runs with its filters.
    const logs = async (path: string) => (await flow(['logs', path], { cwd: dir })).stdout;
    const [ctx1, ctx3, ctx4, table, all, divergedOnly, combo, newest] = await Promise.all([
      logs('run-1/start/0'),
      logs('run-3/start/0'),
      logs('run-4/start/0'),
      flow(['runs'], { cwd: dir }),
      listed(dir),
      listed(dir, '--status', 'diverged'),
      listed(dir, '--user', 'alice', '--status', 'ok', '--tag', 'probe'),
      listed(dir, '--flow', 'UxTrainFlow', '--limit', '2'),
    ]);
    expect(ctxOf(ctx1)).toEqual({
      flowName: 'UxTrainFlow',
      runId: 'run-1',
      stepName: 'start',
      taskId: '0',
      attempt: 0,
      seed: 8,
      tags: ['nightly'],
      username: 'alice',
      originRunId: null,
      replayOf: null,
      isReplay: false,
      isWhatIf: false,
      pathspec: 'run-1/start/0',
      isRunningFlow: true,
      namespace: 'user:alice',
    });
    expect(ctxOf(ctx3)).toMatchObject({ runId: 'run-3', seed: 8, tags: [], replayOf: 'run-1', isReplay: true, isWhatIf: false });
    expect(ctxOf(ctx4)).toMatchObject({ runId: 'run-4', tags: ['probe'], replayOf: 'run-1', isReplay: true, isWhatIf: true });
    expect(() => current.runId).toThrow(/only defined while a step runs/);
    expect(current.isRunningFlow).toBe(false);

    // flow runs: every run, kind and verdict shown; a replay that did not reproduce is not ok.
    const line = (id: string) => table.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    expect(line('run-5')).toMatch(/diverged\s+replay of run-1 ✗/);
    expect(line('run-4')).toMatch(/ok\s+what-if of run-1/);
    expect(line('run-3')).toMatch(/ok\s+replay of run-1 ✓/);
    expect(line('run-2')).toMatch(/ok\s+run\s.*\sbob\s/);
    expect(all.map((r) => [r.id, r.status, r.kind])).toEqual([
      ['run-5', 'diverged', 'replay'],
      ['run-4', 'ok', 'what-if'],
      ['run-3', 'ok', 'replay'],
      ['run-2', 'ok', 'run'],
      ['run-1', 'ok', 'run'],
    ]);
    expect(all[0]).toMatchObject({ recordedStatus: 'ok' });
    expect(ids(divergedOnly)).toEqual(['run-5']);
    expect(ids(combo)).toEqual(['run-4']);
    expect(ids(newest)).toEqual(['run-5', 'run-4']);

    // The client: replays and what-ifs are not the flow's runs; the namespace is the user's (FLOW_USER).
    const store = join(dir, '.flow');
    const saved = process.env.FLOW_USER;
    process.env.FLOW_USER = 'alice';
    try {
      namespace(defaultNamespace());
      const f = Flow.get('UxTrainFlow', { store });
      expect((await f.latestSuccessfulRun())?.id).toBe('run-1');
      expect((await f.latestRun())?.id).toBe('run-1');
      expect(ids(await f.runs())).toEqual(['run-1']);
      expect(ids(await f.runs({ replays: true }))).toEqual(['run-4', 'run-3', 'run-1']);
      namespace(null);
      expect((await f.latestRun())?.id).toBe('run-2');
      expect(ids(await f.runs({ replays: true, status: 'diverged' }))).toEqual(['run-5']);
      expect(ids(await f.runs({ user: 'bob' }))).toEqual(['run-2']);
      expect(ids(await f.runs({ replays: true, limit: 2 }))).toEqual(['run-5', 'run-4']);
      namespace('nightly');
      expect(ids(await f.runs({ replays: true }))).toEqual(['run-1']);
      const run5 = await Run.get('run-5', { store });
      expect([run5.status, run5.successful, run5.kind, run5.replayOf]).toEqual(['diverged', false, 'replay', 'run-1']);
      expect((await Run.get('run-2', { store })).user).toBe('bob');
    } finally {
      namespace(defaultNamespace());
      if (saved === undefined) delete process.env.FLOW_USER;
      else process.env.FLOW_USER = saved;
    }

    // Tags after the fact: an append-only log beside the immutable record.
    const before = readFileSync(join(dir, '.flow/runs/run-1/run.json'));
    const add = await flow(['tag', 'add', 'run-1', 'best', 'baseline'], { cwd: dir });
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toContain('run-1: added best, baseline; tags now: nightly, best, baseline');
    expect((await flow(['tag', 'remove', 'run-1', 'nightly'], { cwd: dir })).exitCode).toBe(0);
    const list = await flow(['tag', 'list', 'run-1', '--json'], { cwd: dir });
    expect(JSON.parse(list.stdout)).toMatchObject({ run: 'run-1', tags: ['best', 'baseline'] });
    expect(readFileSync(join(dir, '.flow/runs/run-1/run.json'))).toEqual(before);
    expect(readdirSync(join(dir, '.flow/runs/run-1/tags'))).toHaveLength(2);
    expect((await Run.get('run-1', { store })).tags).toEqual(['best', 'baseline']);
    expect(ids(await Flow.get('UxTrainFlow', { store }).runs({ tags: ['best', 'baseline'] }))).toEqual(['run-1']);
    const [byBest, byNightly, again, bad, everyTag, inspect, fsck] = await Promise.all([
      listed(dir, '--tag', 'best'),
      listed(dir, '--tag', 'nightly'),
      flow(['tag', 'add', 'run-1', 'best'], { cwd: dir }),
      flow(['tag', 'add', 'run-1', 'user:mallory'], { cwd: dir }),
      flow(['tag', 'list'], { cwd: dir }),
      flow(['inspect', 'run-1'], { cwd: dir }),
      flow(['fsck'], { cwd: dir }),
    ]);
    expect(ids(byBest)).toEqual(['run-1']);
    expect(byNightly).toEqual([]);
    expect(again.stdout).toContain('nothing to do');
    expect([bad.exitCode, bad.stderr]).toEqual([2, expect.stringContaining('TAG_INVALID')]);
    expect(everyTag.stdout).toMatch(/baseline\s+1\n.*best\s+1\n.*probe\s+1/s);
    expect(inspect.stdout).toMatch(/tags best,baseline\s+user alice/);
    expect(fsck.exitCode, fsck.stdout).toBe(0);
  }, 180_000);

  describe('with an S3 mirror', () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await startS3Server();
    });
    afterAll(async () => server?.stop());

    it('tag changes travel with the mirror: pushed at once, pulled by another machine, merged both ways; a forged entry is refused', async () => {
      const loc = await server.location();
      const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
      const a = await uxProject();
      const b = await uxProject();
      expect((await flow(['run', FLOW_FILE, '-q'], { cwd: a, env })).exitCode).toBe(0);
      expect((await flow(['tag', 'add', 'run-1', 'shared'], { cwd: a, env })).exitCode).toBe(0);
      // B reads run-1 from the mirror with the tag A added after the run was pushed.
      expect(ids(await listedRemote(b, env, '--tag', 'shared'))).toEqual(['run-1']);
      const pulled = await flow(['pull', 'run-1'], { cwd: b, env });
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      expect(pulled.stdout).toContain('1 tag change(s)');
      expect((await flow(['tag', 'list', 'run-1', '--json'], { cwd: b, env })).stdout).toContain('"shared"');
      // B changes them; A pulls the change: the logs merge, in time order.
      await flow(['tag', 'remove', 'run-1', 'shared'], { cwd: b, env });
      await flow(['tag', 'add', 'run-1', 'from-b'], { cwd: b, env });
      const push = await flow(['push', 'run-1'], { cwd: b, env });
      expect(push.exitCode, push.stderr).toBe(0);
      expect((await flow(['pull', 'run-1'], { cwd: a, env })).exitCode).toBe(0);
      expect(JSON.parse((await flow(['tag', 'list', 'run-1', '--json'], { cwd: a, env })).stdout)).toMatchObject({ tags: ['from-b'] });

      // A forged entry (its name is not the hash of its content) stops the pull; nothing is written.
      const forger = new Forger(new S3Store(loc));
      const entry = { schema: 'flowrun.tag/1', run: 'run-1', op: 'add', tags: ['forged'], at: new Date().toISOString(), user: 'mallory' };
      await forger.put(`runs/run-1/tags/${'a'.repeat(64)}.json`, entry);
      const refused = await flow(['pull', 'run-1'], { cwd: a, env });
      expect(refused.exitCode).toBe(3);
      expect(refused.stderr).toMatch(/STORE_CORRUPT_RECORD.*runs\/run-1\/tags\/a{64}\.json.*not the hash of its content/s);
      expect(readdirSync(join(a, '.flow/runs/run-1/tags'))).toHaveLength(3);
    }, 120_000);
  });
});

async function listedRemote(dir: string, env: Record<string, string>, ...args: string[]): Promise<Listed[]> {
  const r = await flow(['runs', '--remote', ...args, '--json'], { cwd: dir, env });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { runs: Listed[] }).runs;
}
