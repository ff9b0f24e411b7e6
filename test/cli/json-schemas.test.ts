import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_OUTPUTS } from '../../src/cli/json/outputs.js';
import { jsonSchemaFiles } from '../../tools/json-schemas.js';
import { commandFiles } from '../../tools/build-cli.js';
import { copyFlow, flow, REPO, tempDir, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';

// The --json outputs are a published contract (issue #14 item 6): each read command's output on
// real runs matches its schema in src/cli/json/outputs.ts, which are strict (a field the code
// adds without describing it fails here), and schemas/*.schema.json are generated from them.

/** Commands with --json whose output is not published yet (writing commands): adding one here is a decision. */
const NOT_PUBLISHED: string[] = [];

let dir = '';

beforeAll(async () => {
  dir = await tempProject({ 'rows.csv': '1,2\n2,4\n3,6\n' });
  copyFlow(dir, 'diff-why.ts');
  for (const args of [
    ['--seed', '1'],
    ['--seed', '2', '--alpha', '0.2'],
    ['--seed', '1', '--fail'],
  ]) {
    const r = await flow(['run', 'flows/diff-why.ts', '-q', ...args], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(args.includes('--fail') ? 1 : 0);
  }
}, 120_000);

/** `flow ARGS --json`'s output, checked against the published schema of `name`. */
async function checked(name: keyof typeof JSON_OUTPUTS, args: string[], exitCode = 0, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const r = await flow([...args, '--json'], { cwd: dir, env });
  expect(r.exitCode, r.stderr).toBe(exitCode);
  const out = JSON.parse(r.stdout) as unknown;
  const result = v.safeParse(JSON_OUTPUTS[name], out);
  expect(result.success ? [] : result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`), `flow ${args.join(' ')} --json`).toEqual([]);
  return out as Record<string, unknown>;
}

describe('--json outputs match their published schemas', () => {
  it('flow runs', async () => {
    const out = await checked('runs', ['runs']);
    expect((out.runs as unknown[]).length).toBe(3);
  });

  it('flow inspect of a run, a step and a task (the failed run too)', async () => {
    for (const path of ['run-1', 'run-3', 'run-1/fit', 'run-3/fit', 'run-1/fit/1', 'run-3/fit/0']) await checked('inspect', ['inspect', path]);
  });

  it("flow get of one value and of every task's", async () => {
    expect((await checked('get', ['get', 'run-1', 'best'])).schema).toBe('flowrun.get/1');
    expect((await checked('get', ['get', 'run-1/fit', 'score', '--all'])).schema).toBe('flowrun.get-all/1');
  });

  it('flow show, flow logs, flow code (listed and extracted)', async () => {
    await checked('show', ['show', 'flows/diff-why.ts']);
    await checked('logs', ['logs', 'run-3']);
    await checked('code', ['code', 'run-1']);
    await checked('code', ['code', 'run-1', '--extract', join(tempDir(), 'out')]);
  });

  it('flow check, and flow env of a step without an environment of its own', async () => {
    expect(await checked('check', ['check', 'flows/diff-why.ts'])).toMatchObject({ ok: true, file: 'flows/diff-why.ts' });
    expect(await checked('env', ['env', 'run-1/fit'])).toMatchObject({ run: 'run-1', step: 'fit', envs: [] });
  });

  it('flow diff, with --code', async () => {
    const out = await checked('diff', ['diff', 'run-1', 'run-2', '--code']);
    expect(out.differs).not.toEqual([]);
    await checked('diff', ['diff', 'run-1', 'run-3']);
  });

  it('an error: the object every command prints with --json', async () => {
    const out = await checked('error', ['inspect', 'run-99'], 2);
    expect((out.error as { code: string }).code).toBe('RUN_NOT_FOUND');
  });

  it('the strict schemas refuse a field they do not describe', () => {
    expect(v.is(JSON_OUTPUTS.logs, { schema: 'flowrun.logs/1', tasks: [] })).toBe(true);
    expect(v.is(JSON_OUTPUTS.logs, { schema: 'flowrun.logs/1', tasks: [], extra: 1 })).toBe(false);
  });
});

// After the read commands: these change the project (tags, cache entries, a mirror), never its runs.
describe('--json outputs of the commands that change things match their published schemas', () => {
  let server: S3TestServer | undefined;
  afterAll(async () => server?.stop());

  it('flow gc (a dry run) and flow fsck', async () => {
    const gc = await checked('gc', ['gc', '--dry-run', '--keep-last', '1']);
    expect(gc.deletedRuns).toEqual(['run-2', 'run-1']);
    const fsck = await checked('fsck', ['fsck']);
    expect(fsck).toMatchObject({ runs: 3, problems: [] });
  });

  it('flow tag add, list of a run, list of every tag', async () => {
    expect((await checked('tag', ['tag', 'add', 'run-1', 'best', 'v1'])).changed).toEqual(['best', 'v1']);
    expect((await checked('tag', ['tag', 'list', 'run-1'])).tags).toEqual(['best', 'v1']);
    expect((await checked('tag', ['tag', 'list'])).all).toEqual([
      { tag: 'best', runs: 1 },
      { tag: 'v1', runs: 1 },
    ]);
  });

  it('flow init of a new directory, and again (everything kept)', async () => {
    const target = join(tempDir(), 'proj');
    const first = await checked('init', ['init', target]);
    expect((first.created as string[]).length).toBeGreaterThan(0);
    const again = await checked('init', ['init', target]);
    expect([again.created, again.kept]).toEqual([[], first.created]);
  });

  it('flow spin of a task: its artifacts against the recorded ones', async () => {
    const out = await checked('spin', ['spin', 'run-1/fit/0']);
    expect(out).toMatchObject({ of: { run: 'run-1', step: 'fit', task: '0' }, status: 'ok' });
    expect((out.checks as unknown[]).length).toBeGreaterThan(0);
  });

  it('flow cache clear', async () => {
    expect(await checked('cache:clear', ['cache', 'clear'])).toMatchObject({ step: null, local: 0 });
  });

  it('flow cache verify of a run that reused every task', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await flow(['run', 'flows/diff-why.ts', '-q', '--seed', '1', '--cache'], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const out = await checked('cache:verify', ['cache', 'verify', 'run-5']);
    expect(out).toMatchObject({ run: 'run-5', evicted: [], exitCode: 0 });
    expect((out.cached as unknown[]).length).toBeGreaterThan(0);
    expect((out.checks as unknown[]).length).toBeGreaterThan(0);
  }, 90_000);

  it('flow push and flow pull', async () => {
    server = await startS3Server();
    const loc = await server.location();
    const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    const pushed = await checked('push', ['push', 'run-1'], 0, env);
    expect(pushed.runs).toMatchObject([{ run: 'run-1', status: 'pushed' }]);
    const pulled = await checked('pull', ['pull', 'run-1'], 0, env);
    expect(pulled.runs).toMatchObject([{ run: 'run-1', status: 'up-to-date' }]);
  }, 60_000);
});

// Last: these add runs to the store (the tests above count runs).
describe('--json outputs of the commands that run a flow match their published schemas', () => {
  it('flow run (a run that succeeds and one that fails) and flow resume', async () => {
    const ok = await checked('run', ['run', 'flows/diff-why.ts', '--seed', '3', '-q']);
    expect([ok.status, ok.seed]).toEqual(['ok', 3]);
    const failed = await checked('run', ['run', 'flows/diff-why.ts', '--fail', '-q'], 1);
    expect([failed.status, (failed.error as { step: string }).step]).toEqual(['failed', 'fit']);
    const resumed = await checked('resume', ['resume', 'flows/diff-why.ts', '--origin', failed.id as string, '-q'], 1);
    expect(resumed.origin).toMatchObject({ run: failed.id });
  });

  it('flow replay: the verdict and its checks; a what-if: the diff', async () => {
    const out = await checked('replay', ['replay', 'run-1', '-q']);
    expect((out.verdict as { reproduced: boolean }).reproduced).toBe(true);
    expect((out.checks as unknown[]).length).toBeGreaterThan(0);
    const whatIf = await checked('replay', ['replay', 'run-1', '--alpha', '0.3', '-q']);
    expect((whatIf.diff as { differs: string[] }).differs).toContain('params');
  });
});

describe('published JSON Schema files', () => {
  it('schemas/ holds exactly the generated files, up to date (npm run schemas)', () => {
    const files = jsonSchemaFiles();
    const onDisk = readdirSync(join(REPO, 'schemas')).sort();
    expect(onDisk).toEqual(Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) expect(readFileSync(join(REPO, 'schemas', name), 'utf8'), name).toBe(text);
  });

  it('leave objects open: a field added within a schema version (docs/json.md) must not fail a consumer', () => {
    for (const [name, text] of Object.entries(jsonSchemaFiles())) {
      expect(text, name).not.toContain('"additionalProperties": false');
      expect(text, name).toContain('"required"');
    }
  });

  it('are shipped in the package', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schemas');
  });

  it('every command with --json is published or listed as not yet', () => {
    const withJson = commandFiles(join(REPO, 'commands'))
      .filter((c) => /enableJsonFlag = true/.test(readFileSync(c.file, 'utf8')))
      .map((c) => c.id);
    expect(withJson.filter((id) => !(id in JSON_OUTPUTS)).sort()).toEqual(NOT_PUBLISHED);
  });
});
