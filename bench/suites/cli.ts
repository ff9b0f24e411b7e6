import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { runRecordPath, type RunRecord } from '../../src/metadata/records.js';
import { S3Store } from '../../src/store/s3.js';
import { mapLimit } from '../../src/util/map-limit.js';
import { S3_TEST_ENV, startS3Server } from '../../tools/s3-test-server/launch.js';
import { interleaved, machineLoad, type Probe, type ProbeTimes } from '../interleave.js';
import { runTimeline } from '../run-timeline.js';
import { BIN, benchProject, linearFlowSource, median, ms, type Row, type Section } from '../util.js';

const ROUNDS = Number(process.env.FLOW_BENCH_ROUNDS ?? 11);
const RUNS = 1000;
/** The `node -e 0` issue #18 measured beside its figures: its goals are ratios to it ("each a ratio measured in one run"). */
const ISSUE_NODE_MS = 74;
/** Issue #18's `flow run` goal, 250 ms, over the `node -e 0` it measured beside it. */
const RUN_GOAL_RATIO = 250 / ISSUE_NODE_MS;

const TWO_STEP = `import { FlowSpec, step } from 'flowrun';
export default class TwoStep extends FlowSpec {
  x!: number;
  @step start() { this.x = 42; this.next(this.end); }
  @step end() {}
}
`;

/** What a script using the client API does: the latest successful run of a flow and one artifact. */
const CLIENT = `import { Flow } from 'flowrun';
const run = await Flow.get('Tiny').latestSuccessfulRun();
if (!run || (await run.artifact('v')) !== 1) process.exit(1);
`;
/** The same as a CommonJS script (require('flowrun'): it loads no ES module). */
const CLIENT_CJS = `const { Flow } = require('flowrun');
Flow.get('Tiny').latestSuccessfulRun().then(async (run) => {
  if (!run || (await run.artifact('v')) !== 1) process.exit(1);
});
`;

function gitInit(dir: string): void {
  execFileSync('git', ['init', '-q'], { cwd: dir });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.flow/\n');
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['-c', 'user.email=b@b', '-c', 'user.name=b', 'commit', '-qm', 'x'], { cwd: dir });
}

/** A store with `n` runs: one real run of a 3-step flow, copied to run-2..run-n (each record names its own id). */
function manyRuns(n: number): string {
  const dir = benchProject({ 'linear.ts': linearFlowSource(3, 'Tiny'), 'client.mjs': CLIENT, 'client.cjs': CLIENT_CJS });
  gitInit(dir);
  execFileSync(process.execPath, [BIN, 'run', 'linear.ts', '-q'], { cwd: dir });
  const runs = join(dir, '.flow', 'runs');
  const record = JSON.parse(readFileSync(join(runs, 'run-1', 'run.json'), 'utf8')) as RunRecord;
  for (let i = 2; i <= n; i++) {
    cpSync(join(runs, 'run-1'), join(runs, `run-${i}`), { recursive: true });
    writeFileSync(join(runs, `run-${i}`, 'run.json'), JSON.stringify({ ...record, id: `run-${i}` }));
  }
  return dir;
}

const flowProbe = (name: string, cwd: string, args: string[], env?: NodeJS.ProcessEnv): Probe => ({ name, cmd: process.execPath, args: [BIN, ...args], cwd, env });

interface Goal {
  name: string;
  probe: string;
  goal: string;
  within: (t: ProbeTimes, node: ProbeTimes) => boolean;
  /** More of the verdict (appended to the note). */
  also?: (t: ProbeTimes, node: ProbeTimes) => string;
  was: string;
  before: string;
}

/**
 * Issue #18: interactive speed. Every command is timed as a whole process, interleaved with
 * `node -e 0` in the same rounds (the machine is shared: load moves absolute times, the
 * difference to node's own start-up moves much less).
 */
export async function cli(): Promise<Section[]> {
  const loadBefore = machineLoad();
  const small = benchProject({ 'flows/ten.ts': linearFlowSource(10, 'Ten'), 'flows/two.ts': TWO_STEP });
  gitInit(small);
  execFileSync(process.execPath, [BIN, 'run', 'flows/ten.ts', '-q'], { cwd: small });
  execFileSync(process.execPath, [BIN, 'run', 'flows/two.ts', '-q'], { cwd: small });
  process.stderr.write(`  writing ${RUNS} runs...\n`);
  const many = manyRuns(RUNS);

  const node0: Probe = { name: 'node', cmd: process.execPath, args: ['-e', '0'], cwd: small };
  const probes: Probe[] = [
    node0,
    flowProbe('version', small, ['--version']),
    flowProbe('version-cold', small, ['--version'], { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' }),
    flowProbe('show', small, ['show', 'flows/ten.ts']),
    flowProbe('check', small, ['check', 'flows/ten.ts']),
    flowProbe('get', small, ['get', 'run-1', 'v']),
    flowProbe('inspect', small, ['inspect', 'run-1']),
    flowProbe('runs', many, ['runs', '--json']),
    { name: 'client', cmd: process.execPath, args: ['client.mjs'], cwd: many },
    { name: 'client-cjs', cmd: process.execPath, args: ['client.cjs'], cwd: many },
    flowProbe('run', small, ['run', 'flows/two.ts', '-q']),
  ];
  process.stderr.write(`  ${ROUNDS} interleaved rounds of ${probes.length} processes...\n`);
  const t = interleaved(probes, ROUNDS);
  const loadAfter = machineLoad();

  const remote = await remoteListing(many);
  const timeline = runTimeline(small, ['run', 'flows/two.ts', '-q']);
  rmSync(small, { recursive: true, force: true });
  rmSync(many, { recursive: true, force: true });

  const node = t.get('node')!;
  // "≤ node + N ms" as the issue set it: a ratio to the node it measured in the same run (on this
  // machine Node itself starts ~1.7 × slower); whether the difference alone is within N ms is said too.
  const plus = (max: number) => ({
    goal: `≤ node + ${max} ms (as the issue's ratio: ≤ ${((ISSUE_NODE_MS + max) / ISSUE_NODE_MS).toFixed(2)} × node)`,
    within: (x: ProbeTimes, n: ProbeTimes) => x.median / n.median <= (ISSUE_NODE_MS + max) / ISSUE_NODE_MS,
    also: (x: ProbeTimes, n: ProbeTimes) => `; as a difference (node + ${max} ms here): ${x.median - n.median <= max ? 'met' : 'not met'}`,
  });
  const goals: Goal[] = [
    // before: this suite at eceed60, before the work of issue #18 (load average 11.7).
    { name: '`flow --version`', probe: 'version', ...plus(60), was: '222 ms (node 74 ms)', before: 'node + 268 ms, CPU node + 270 ms' },
    { name: '`flow show` (10-step flow, graph cache fresh)', probe: 'show', ...plus(60), was: '244 ms', before: 'node + 306 ms, CPU node + 330 ms' },
    { name: '`flow check` (caches fresh)', probe: 'check', ...plus(60), was: '', before: 'node + 460 ms, CPU node + 440 ms' },
    { name: '`flow get run-1 v`', probe: 'get', ...plus(60), was: '251 ms', before: 'node + 438 ms, CPU node + 360 ms' },
    { name: '`flow inspect run-1` (10 tasks)', probe: 'inspect', ...plus(60), was: '', before: 'node + 420 ms, CPU node + 340 ms' },
    { name: `\`flow runs --json\`, ${RUNS.toLocaleString('en')} runs`, probe: 'runs', ...plus(100), was: '798 ms (loaded)', before: 'node + 563 ms, CPU node + 480 ms' },
    { name: 'client `Flow.get(...).latestSuccessfulRun()` + one artifact, whole process, 1,000 runs (an ES module script)', probe: 'client', ...plus(40), was: '126 ms', before: 'node + 282 ms, CPU node + 280 ms' },
    { name: "the same client read from a CommonJS script (`require('flowrun')`)", probe: 'client-cjs', ...plus(40), was: '', before: 'not possible (an ES-module-only package)' },
    { name: '`flow run` of a 2-step flow', probe: 'run', goal: `≤ 250 ms where node took 74 ms: ≤ ${RUN_GOAL_RATIO.toFixed(2)} × node`, within: (x, n) => x.median / n.median <= RUN_GOAL_RATIO, was: '516 ms (Metaflow 1.30 s)', before: '1484 ms, CPU node + 1190 ms' },
  ];
  const rows: Row[] = [{ name: '`node -e 0` (the floor)', value: ms(node.median), note: `min ${ms(node.min)}, max ${ms(node.max)}; CPU ${ms(node.cpu)}` }];
  for (const g of goals) {
    const x = t.get(g.probe)!;
    rows.push({
      name: g.name,
      value: `${ms(x.median)} (node + ${ms(x.median - node.median)}, ×${(x.median / node.median).toFixed(2)})`,
      note: `goal ${g.goal}: **${g.within(x, node) ? 'met' : 'not met'}**${g.also?.(x, node) ?? ''}; min ${ms(x.min)}, max ${ms(x.max)}; CPU node + ${ms(x.cpu - node.cpu)}; before this work: ${g.before}${g.was ? `; issue #18 measured ${g.was}` : ''}`,
    });
  }
  const cold = t.get('version-cold')!;
  rows.push({
    name: "`flow --version` without the code cache (NODE_DISABLE_COMPILE_CACHE=1: a build's first run)",
    value: `${ms(cold.median)} (node + ${ms(cold.median - node.median)})`,
    note: `CPU node + ${ms(cold.cpu - node.cpu)}: what bin/load-bundle.js saves on every later run`,
  });
  rows.push({
    name: `\`flow runs --remote --json\`, ${RUNS.toLocaleString('en')} runs`,
    value: `${remote.requests} requests, ${ms(remote.ms)}`,
    note: `goal ≤ 3 requests: **${remote.requests <= 3 ? 'met' : 'not met'}**; ${remote.detail}; time: median of 3; issue #18 measured 1,001 requests (10.6 s)`,
  });
  return [
    {
      title: 'Interactive speed: CLI and client start-up (issue #18)',
      command: `\`npm run bench -- cli\`: whole-process wall time, median of ${ROUNDS} interleaved rounds (each round runs \`node -e 0\` and every command once, after a warm-up round)`,
      rows,
      text: `Load average ${loadBefore} before and ${loadAfter} after the rounds, on ${cpus().length} cores shared with other jobs: absolute times are inflated by the load; the difference to \`node -e 0\`, measured in the same rounds, less so; CPU time (user + sys, from GNU time, 10 ms resolution) least. The issue's goals are "each a ratio measured in one run", set where \`node -e 0\` took ${ISSUE_NODE_MS} ms (here ${ms(node.median)}): each is held as that ratio (node + 40 ms there is ${((ISSUE_NODE_MS + 40) / ISSUE_NODE_MS).toFixed(2)} × node), and the note says too whether the plain difference here is within as many ms, a stricter reading on a machine where Node itself starts ${(node.median / ISSUE_NODE_MS).toFixed(1)} × slower. \`flow run\` runs two Node processes (the CLI and a worker), each at least \`node -e 0\`'s ${ms(node.median)} here; its 250 ms is held as ${RUN_GOAL_RATIO.toFixed(2)} × node (${ms(RUN_GOAL_RATIO * node.median)} at this run's \`node -e 0\`). The warm-up round writes the CLI's code cache (bin/load-bundle.js) and the run index, as any earlier command would. Where \`flow run\` of the 2-step flow spends its time (FLOW_TRACE marks, ms from the CLI process's start, median of 5 runs after the rounds): ${timeline}.`,
    },
  ];
}

/** `flow runs --remote` against the S3 test server holding `RUNS` runs: requests of one listing and its time. */
async function remoteListing(project: string): Promise<{ requests: number; ms: number; detail: string }> {
  Object.assign(process.env, S3_TEST_ENV);
  const server = await startS3Server(mkdtempSync(join(tmpdir(), 'flowrun-bench-s3-')));
  try {
    const loc = await server.location();
    const mirror = await S3Store.open(loc);
    const record = JSON.parse(readFileSync(join(project, '.flow', 'runs', 'run-1', 'run.json'), 'utf8')) as RunRecord;
    process.stderr.write(`  writing ${RUNS} runs to the mirror...\n`);
    await mapLimit(
      Array.from({ length: RUNS }, (_, i) => i + 1),
      16,
      (i) => mirror.writeRecord(runRecordPath(`run-${i}`), { ...record, id: `run-${i}` }),
    );
    mirror.client.destroy();
    const env = { ...process.env, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    const list = () => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'runs', '--remote', '--json'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`flow runs --remote exited ${r.status}: ${String(r.stderr)}`);
      const listed = (JSON.parse(String(r.stdout)) as { runs: unknown[] }).runs.length;
      if (listed !== RUNS) throw new Error(`flow runs --remote listed ${listed} runs, not ${RUNS}`);
      return performance.now() - t0;
    };
    // The records were written without the run index (as an older flowrun left a mirror): the
    // first listing reads them all and writes the index; every later one reads the index.
    await server.resetStats();
    const unindexed = list();
    const unindexedRequests = Object.values(await server.stats()).reduce((a, b) => a + b, 0);
    await server.resetStats();
    const first = list();
    const stats = await server.stats();
    const requests = Object.values(stats).reduce((a, b) => a + b, 0);
    const times = [first, list(), list()];
    const detail = `${Object.entries(stats)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')} (the store's FORMAT, the run index, the listing of runs/); the first listing of the mirror, before it had an index: ${unindexedRequests} requests, ${ms(unindexed)}`;
    return { requests, ms: median(times), detail };
  } finally {
    await server.stop();
  }
}
