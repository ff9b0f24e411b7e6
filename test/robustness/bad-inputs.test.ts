import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { LONG, printFigures } from './figures.js';

// Part 7 of the robustness suite (issue #9): one row per case of ../shared/BAD-INPUTS.md that can
// happen locally. Each runs the real CLI and checks the exit code, the error code, that the
// message names the thing (file, step, artifact, param, key, run) and that there is no stack
// trace and no "Internal error". Cases 37–40 (S3, Batch) and 28 (gc lock) belong to the remote
// and gc work; they are counted as not covered here.

const HEAD = `import { FlowSpec, step, param, type Inputs } from 'flowrun';\n`;
const flowFile = (body: string, name = 'F') => `${HEAD}export default class ${name} extends FlowSpec {\n${body}\n}\n`;
const END = '  @step end() {}';

interface Row {
  /** BAD-INPUTS.md case number(s). */
  id: number;
  what: string;
  files?: Record<string, string>;
  /** Flows copied from test/flows. */
  flows?: string[];
  /** Commands run before the one checked (e.g. a first run). */
  before?: string[][];
  /** Start from a copy of a project where flows/linear.ts already ran once (run-1). */
  ran?: true;
  /** Changes the project after `before` (e.g. damage the store, change the flow). */
  setup?: (dir: string) => void | Promise<void>;
  args: string[];
  env?: Record<string, string>;
  exit: number;
  /** The error code in the output (undefined: no error, e.g. a warning case). */
  code?: string;
  /** Words the message must contain. */
  names: string[];
  long?: true;
}

const objects = (dir: string) => join(dir, '.flow/objects');
function firstArtifactObject(dir: string, run = 'run-1', step = 'start', name?: string): string {
  const t = JSON.parse(readFileSync(join(dir, '.flow/runs', run, 'tasks', step, '0.json'), 'utf8')) as { artifacts: Record<string, { hash: string }> };
  const hash = (name ? t.artifacts[name] : Object.values(t.artifacts)[0])!.hash;
  return join(objects(dir), hash.slice(0, 2), hash);
}

const ROWS: Row[] = [
  // Graph (static), exit 2.
  { id: 1, what: 'cycle', files: { 'f.ts': flowFile(`  @step start() { this.next(this.a); }\n  @step a() { this.next(this.b); }\n  @step b() { this.next(this.a); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_CYCLE', names: ['f.ts', 'a'] },
  { id: 2, what: 'step without next', files: { 'f.ts': flowFile(`  @step start() { this.next(this.a); }\n  @step a() {}\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_MISSING_NEXT', names: ['f.ts', 'a'] },
  { id: 3, what: 'next to an unknown step', files: { 'f.ts': flowFile(`  @step start() { this.next(this.trian); }\n  @step train() { this.next(this.end); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_UNKNOWN_STEP', names: ['f.ts', 'trian', 'train'] },
  { id: 4, what: 'unreachable step', files: { 'f.ts': flowFile(`  @step start() { this.next(this.end); }\n  @step lost() { this.next(this.end); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_ORPHAN', names: ['f.ts', 'lost'] },
  { id: 5, what: 'no start step', files: { 'f.ts': flowFile(`  @step begin() { this.next(this.end); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_START_END', names: ['f.ts', 'start'] },
  { id: 6, what: 'join without inputs', files: { 'f.ts': flowFile(`  @step start() { this.next(this.a, this.b); }\n  @step a() { this.next(this.j); }\n  @step b() { this.next(this.j); }\n  @step j() { this.next(this.end); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_JOIN_ARITY', names: ['f.ts', 'j'] },
  { id: 7, what: 'reserved step name', files: { 'f.ts': flowFile(`  @step start() { this.next(this.input); }\n  @step input() { this.next(this.end); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_STEP_NAME', names: ['f.ts', 'input'] },
  { id: 8, what: 'dynamic next', files: { 'f.ts': flowFile(`  @step start() { const t = this.end; this.next(t); }\n${END}`) }, args: ['check', 'f.ts'], exit: 2, code: 'GRAPH_DYNAMIC_NEXT', names: ['f.ts', 'start'] },
  // Runtime, exit 1.
  { id: 9, what: 'foreach over a non-iterable', flows: ['bad-foreach.ts'], args: ['run', 'flows/bad-foreach.ts', '--mode', 'notIterable'], exit: 1, code: 'FOREACH_NOT_ITERABLE', names: ['start', 'items'] },
  { id: 10, what: 'foreach with zero splits', flows: ['bad-foreach.ts'], args: ['run', 'flows/bad-foreach.ts', '--mode', 'empty'], exit: 1, code: 'FOREACH_EMPTY', names: ['start', 'items'] },
  { id: 11, what: 'too many splits', flows: ['bad-foreach.ts'], args: ['run', 'flows/bad-foreach.ts', '--n', '5', '--max-num-splits', '2'], exit: 1, code: 'FOREACH_TOO_MANY', names: ['start', 'items', '--max-num-splits'] },
  { id: 12, what: 'merge conflict', flows: ['branch-merge.ts'], args: ['run', 'flows/branch-merge.ts', '--clash'], exit: 1, code: 'MERGE_CONFLICT', names: ['shared'] },
  // Artifacts.
  { id: 13, what: 'function in an artifact', flows: ['not-serializable.ts'], args: ['run', 'flows/not-serializable.ts'], exit: 1, code: 'ARTIFACT_NOT_SERIALIZABLE', names: ['train', 'model.predict'] },
  { id: 14, what: 'artifact too large to encode', long: true, files: { 'f.ts': flowFile(`  big!: string[];\n  @step start() { const s = 'x'.repeat(300 << 20); this.big = [s, s]; this.next(this.end); }\n${END}`) }, args: ['run', 'f.ts'], exit: 1, code: 'ARTIFACT_TOO_LARGE', names: ['start', 'big'] },
  { id: 15, what: 'artifact named like a step', files: { 'f.ts': `${HEAD}export default class F extends FlowSpec {\n  @step start() { this.name = 'x'; this.next(this.end); }\n${END}\n}\n` }, args: ['check', 'f.ts'], exit: 2, code: 'ARTIFACT_RESERVED_NAME', names: ['f.ts', 'start', 'this.name'] },
  // Parameters, exit 2.
  { id: 16, what: 'unknown parameter', flows: ['param-types.ts'], args: ['run', 'flows/param-types.ts', '--cuont', '3'], exit: 2, code: 'PARAM_UNKNOWN', names: ['--cuont', '--count'] },
  { id: 17, what: 'ill-typed parameter', flows: ['param-types.ts'], args: ['run', 'flows/param-types.ts', '--count', 'abc'], exit: 2, code: 'PARAM_TYPE', names: ['--count', 'a number', 'param-types.ts'] },
  { id: 18, what: 'missing required parameter', files: { 'f.ts': flowFile(`  @param({ required: true, type: 'number' }) alpha!: number;\n  @step start() { this.next(this.end); }\n${END}`) }, args: ['run', 'f.ts'], exit: 2, code: 'PARAM_REQUIRED', names: ['--alpha', 'f.ts'] },
  { id: 19, what: 'default that is not a literal (defaults are never run: no default function can fail)', files: { 'f.ts': flowFile(`  @param() alpha = Math.random();\n  @step start() { this.next(this.end); }\n${END}`) }, args: ['run', 'f.ts'], exit: 2, code: 'PARAM_TYPE', names: ['alpha', 'f.ts'] },
  { id: 20, what: 'parameter clashing with a CLI flag', files: { 'f.ts': flowFile(`  @param() tag = 'x';\n  @step start() { this.next(this.end); }\n${END}`) }, args: ['run', 'f.ts'], exit: 2, code: 'PARAM_NAME_CLASH', names: ['tag', 'f.ts'] },
  // Flow file and configuration, exit 2.
  { id: 21, what: 'missing flow file', args: ['run', 'nope.ts'], exit: 2, code: 'FLOW_FILE_NOT_FOUND', names: ['nope.ts'] },
  { id: 22, what: 'syntax error', files: { 'f.ts': flowFile('  @step start() { this.next(this.end) \n') }, args: ['run', 'f.ts'], exit: 2, code: 'FLOW_COMPILE_ERROR', names: ['f.ts:'] },
  { id: 23, what: 'no flow class', files: { 'f.ts': 'export const x = 1;\n' }, args: ['run', 'f.ts'], exit: 2, code: 'FLOW_CLASS_NOT_FOUND', names: ['f.ts'] },
  {
    id: 23,
    what: 'several flow classes',
    files: { 'f.ts': `${HEAD}export class A extends FlowSpec { @step start() { this.next(this.end); }\n${END} }\nexport class B extends FlowSpec { @step start() { this.next(this.end); }\n${END} }\n` },
    args: ['run', 'f.ts'],
    exit: 2,
    code: 'FLOW_CLASS_AMBIGUOUS',
    names: ['f.ts', 'A', 'B'],
  },
  { id: 24, what: 'invalid .flowrc', flows: ['linear.ts'], files: { '.flowrc': '{"maxWorkerz": 2}' }, args: ['run', 'flows/linear.ts'], exit: 2, code: 'CONFIG_INVALID', names: ['maxWorkerz', '.flowrc'] },
  // Store, exit 3.
  {
    id: 25,
    what: 'corrupt object',
    ran: true,
    setup: (d) => {
      const p = firstArtifactObject(d, 'run-1', 'start', 'x');
      chmodSync(p, 0o644);
      const b = readFileSync(p);
      b[b.length - 1] = b[b.length - 1]! ^ 1;
      writeFileSync(p, b);
    },
    args: ['get', 'run-1/start/0', 'x'],
    exit: 3,
    code: 'STORE_CORRUPT_OBJECT',
    names: ['flow fsck'],
  },
  { id: 26, what: 'missing object', ran: true, setup: (d) => rmSync(firstArtifactObject(d, 'run-1', 'start', 'x')), args: ['get', 'run-1/start/0', 'x'], exit: 3, code: 'STORE_MISSING_OBJECT', names: ['flow fsck'] },
  {
    id: 27,
    what: 'newer store format',
    ran: true,
    setup: (d) => {
      chmodSync(join(d, '.flow/FORMAT'), 0o644);
      writeFileSync(join(d, '.flow/FORMAT'), '{"format":"flowrun-store","version":9}');
    },
    args: ['runs'],
    exit: 3,
    code: 'STORE_VERSION_UNSUPPORTED',
    names: ['FORMAT', 'Upgrade'],
  },
  { id: 29, what: 'store path not writable (a file)', flows: ['linear.ts'], files: { 'store-file': 'not a directory' }, args: ['run', 'flows/linear.ts'], env: { FLOW_STORE: 'store-file' }, exit: 3, code: 'STORE_PERMISSION', names: ['store-file'] },
  // Runs, resume, replay, diff.
  { id: 30, what: 'unknown run id', ran: true, args: ['get', 'run-9', 'x'], exit: 2, code: 'RUN_NOT_FOUND', names: ['run-9', 'run-1'] },
  {
    id: 31,
    what: 'resume after the graph changed',
    ran: true,
    setup: (d) => {
      const p = join(d, 'flows/linear.ts');
      writeFileSync(
        p,
        readFileSync(p, 'utf8')
          .replace(/this\.next\(this\.double\)/, 'this.next(this.twice)')
          .replace('@step double()', '@step twice()'),
      );
    },
    args: ['resume', 'flows/linear.ts', '--origin', 'run-1', '--step', 'twice'],
    exit: 2,
    code: 'RESUME_GRAPH_MISMATCH',
    names: ['run-1', 'double'],
  },
  {
    id: 32,
    what: 'replay with its code package missing',
    ran: true,
    setup: (d) => {
      const r = JSON.parse(readFileSync(join(d, '.flow/runs/run-1/run.json'), 'utf8')) as { code: { hash: string } };
      rmSync(join(objects(d), r.code.hash.slice(0, 2), r.code.hash));
    },
    args: ['replay', 'run-1'],
    exit: 3,
    code: 'REPLAY_SNAPSHOT_MISSING',
    names: ['run-1', 'code package', 'flow pull'],
  },
  { id: 33, what: 'replayed output differs', flows: ['repro-clock.ts'], before: [['run', 'flows/repro-clock.ts', '-q']], args: ['replay', 'run-1'], exit: 1, names: ['did NOT reproduce', 'first divergence: step work', 'flow diff run-1'] },
  // Git.
  { id: 34, what: 'not a git repository (allowed: a one-line warning, git: null)', flows: ['linear.ts'], setup: (d) => rmSync(join(d, '.git'), { recursive: true }), args: ['run', 'flows/linear.ts'], exit: 0, names: ['is not a git repository', 'git: null'] },
  { id: 35, what: 'dirty work tree (not an error: one line, the patch is stored)', flows: ['linear.ts'], args: ['run', 'flows/linear.ts'], exit: 0, names: ['run-1'] },
  {
    id: 36,
    what: 'unborn branch (a one-line warning, commit: null)',
    flows: ['linear.ts'],
    setup: async (d) => {
      rmSync(join(d, '.git'), { recursive: true });
      await execa('git', ['init', '-q', '-b', 'main'], { cwd: d });
    },
    args: ['run', 'flows/linear.ts'],
    exit: 0,
    names: ['has no commits yet', 'commit: null'],
  },
  // Process.
  { id: 42, what: 'step timeout', flows: ['task-timeout.ts'], args: ['run', 'flows/task-timeout.ts'], exit: 1, code: 'TASK_TIMEOUT', names: ['hang'] },
  { id: 43, what: 'worker crash', flows: ['task-exit.ts'], args: ['run', 'flows/task-exit.ts'], exit: 1, code: 'TASK_CRASHED', names: ['crash', 'exit'] },
];
/** Case 41 (Ctrl-C / SIGTERM → exit 130) needs a signal, so it has its own row below. */
const TOTAL_CASES = 43;

let template: string;
let ranTemplate: string;
beforeAll(async () => {
  template = await tempProject();
  ranTemplate = join(tempDir(), 'ran');
  cpSync(template, ranTemplate, { recursive: true, verbatimSymlinks: true });
  copyFlow(ranTemplate, 'linear.ts');
  const r = await flow(['run', 'flows/linear.ts', '-q'], { cwd: ranTemplate });
  if (r.exitCode !== 0) throw new Error(r.stderr);
}, 60_000);

async function project(row: Row): Promise<string> {
  const dir = join(tempDir(), 'p');
  cpSync(row.ran ? ranTemplate : template, dir, { recursive: true, verbatimSymlinks: true });
  for (const f of row.flows ?? []) copyFlow(dir, f);
  for (const [path, text] of Object.entries(row.files ?? {})) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const args of row.before ?? []) {
    const r = await flow(args, { cwd: dir });
    if (r.exitCode !== 0) throw new Error(`setup ${args.join(' ')} failed: ${r.stderr}`);
  }
  await row.setup?.(dir);
  return dir;
}

function judge(row: Row, r: CliResult): string | undefined {
  const out = r.stdout + r.stderr;
  if (r.exitCode !== row.exit) return `exit ${r.exitCode}, expected ${row.exit}`;
  if (row.code && !out.includes(row.code)) return `no ${row.code}`;
  const missing = row.names.filter((n) => !out.includes(n));
  if (missing.length) return `message does not name ${missing.join(', ')}`;
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(out)) return 'a stack trace';
  if (/Internal error/.test(out)) return 'an internal error';
  return undefined;
}

describe('bad-input sweep (BAD-INPUTS.md)', () => {
  it('every local case: exit code, error code, names the thing, no stack trace', async () => {
    const rows = ROWS.filter((r) => LONG || !r.long);
    const failures: string[] = [];
    for (let i = 0; i < rows.length; i += 4) {
      await Promise.all(
        rows.slice(i, i + 4).map(async (row) => {
          const dir = await project(row);
          const r = await flow(row.args, { cwd: dir, env: row.env });
          const problem = judge(row, r);
          if (problem) failures.push(`#${row.id} ${row.what}: ${problem}\n${(r.stdout + r.stderr).slice(0, 600)}`);
        }),
      );
    }
    // Case 41: SIGTERM cancels cleanly with exit 130 (sent once the run has started).
    const sig = await project({ id: 41, what: 'SIGTERM', files: { 'f.ts': flowFile(`  @step start() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); this.next(this.end); }\n${END}`) }, args: [], exit: 130, names: [] });
    const child = execa(process.execPath, [join(template, 'node_modules/flowrun/bin/run.js'), 'run', 'f.ts'], { cwd: sig, reject: false, env: { NO_COLOR: '1' } });
    await new Promise<void>((res) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (/run-\d+/.test(String(d))) res();
      });
    });
    await new Promise((res) => setTimeout(res, 300));
    child.kill('SIGTERM');
    const term = await child;
    const sigProblem = judge({ id: 41, what: 'SIGTERM', args: [], exit: 130, names: ['interrupted'] }, { exitCode: term.exitCode ?? -1, stdout: String(term.stdout), stderr: String(term.stderr) });
    if (sigProblem) failures.push(`#41 SIGTERM: ${sigProblem}\n${String(term.stderr).slice(0, 400)}`);
    const covered = new Set([...rows.map((r) => r.id), 41]);
    printFigures('bad-input sweep (BAD-INPUTS.md)', [
      ['cases covered / total', `${covered.size}/${TOTAL_CASES}`],
      ['rows (some cases have several)', rows.length + 1],
      ['rows failing', failures.length],
      [
        'not covered here',
        `${[...Array(TOTAL_CASES).keys()]
          .map((i) => i + 1)
          .filter((i) => !covered.has(i))
          .join(', ')} (S3/Batch/gc work${LONG ? '' : '; 14 needs --long'})`,
      ],
    ]);
    expect(failures).toEqual([]);
  }, 300_000);
});
