import './backends.js';
import { UsageError } from '../errors/index.js';
import { parseParams, resolveParams } from '../runtime/params.js';
import type { RunRecord } from '../metadata/records.js';
import { selectRuns } from '../metadata/run-query.js';
import { currentUser, userNamespace } from '../metadata/user.js';
import type { ResumePlan } from '../plan/resume.js';
import type { RunOptions, RunOutcome } from '../runtime/run.js';
import { startWorkers } from '../runtime/workers.js';
import { loadFlowGraph } from './load.js';
import { applyWith, parseWith } from '../graph/with.js';
import { PATH_DISPLAY_MAX, displayText, displayValue } from '../util/terminal.js';
import { traceMark } from '../util/trace.js';

export interface RunFlags {
  'max-workers'?: number;
  'max-num-splits': number;
  tag?: string[];
  seed?: number;
  quiet: boolean;
  'refresh-envs'?: boolean;
  environment?: string;
  /** --with NAME[:k=v,...]: a decorator attached to every step. */
  with?: string[];
  /** --cache (every step) / --no-cache (none). */
  cache?: boolean;
  /** --user: who the run is recorded as (default FLOW_USER, else the OS account). */
  user?: string;
}

/**
 * The flow's own parameters among a run command's raw arguments: everything after the flow
 * file that is not one of the command's flags (with its value) or a global flag.
 */
export function paramArgs(raw: readonly string[], flags: Record<string, { type: string; char?: string; allowNo?: boolean }>): { params: string[]; rest: string[] } {
  const valued = new Set<string>();
  const bare = new Set(['--json', '--debug']);
  for (const [name, f] of Object.entries(flags)) {
    const set = f.type === 'boolean' ? bare : valued;
    set.add(`--${name}`);
    if (f.allowNo) set.add(`--no-${name}`);
    if (f.char) set.add(`-${f.char}`);
  }
  const params: string[] = [];
  const rest: string[] = [];
  let fileSeen = false;
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    const name = a.split('=')[0]!;
    if (bare.has(a) || a === '--help' || a === '-h') {
      rest.push(a);
      continue;
    }
    if (valued.has(name)) {
      rest.push(a);
      if (!a.includes('=') && i + 1 < raw.length) rest.push(raw[++i]!);
      continue;
    }
    if (!fileSeen && !a.startsWith('-')) {
      fileSeen = true;
      rest.push(a);
      continue;
    }
    params.push(a);
  }
  return { params, rest };
}

interface StartOptions {
  file: string;
  paramArgv: string[];
  flags: RunFlags;
  json: boolean;
  log: (line: string) => void;
  /** flow resume: the origin run (default: the flow's latest) and the step to rerun from. */
  resume?: { origin?: string; step?: string };
}

export async function startRun(o: StartOptions): Promise<RunOutcome> {
  traceMark('run command');
  process.once('exit', () => traceMark('exit'));
  const loaded = await loadFlowGraph(o.file);
  const { config, analysis } = loaded;
  traceMark('graph loaded');
  const graph = applyWith(loaded.graph, (o.flags.with ?? []).map(parseWith));
  let params = resolveParams(graph, parseParams(graph, o.paramArgv));
  let seed = o.flags.seed;
  let origin: RunOptions['origin'];
  let includes: RunOptions['includes'];
  const user = currentUser(o.flags.user);
  if (o.resume) {
    const { Run, listRuns, openProjectStore } = await import('../client/client.js');
    const { planResume } = await import('../plan/resume.js');
    const store = openProjectStore(config);
    const run = await Run.open(store, o.resume.origin ?? defaultOrigin(await listRuns(store), graph.flow, user, analysis.displayPath));
    const plan = await planResume(graph, run, o.resume.step);
    params = run.params;
    seed = run.record.seed;
    includes = run.record.includes;
    origin = { run: run.id, step: plan.step, cloneFrom: (step, taskId) => plan.reuse.get(`${step}/${taskId}`), code: run.record.code, commit: run.record.git?.commit };
    if (!o.flags.quiet) process.stderr.write(`${reuseLine(run.record, plan)}\n`);
  }
  const quiet = o.flags.quiet;
  // The workers start before the run machinery is loaded (runtime/run.js and what it imports):
  // their start-up overlaps it.
  const workers = startWorkers({ config, graph, maxWorkers: o.flags['max-workers'], quiet, cache: o.flags.cache });
  traceMark('workers started');
  let executeRun: typeof import('../runtime/run.js').executeRun;
  try {
    ({ executeRun } = await import('../runtime/run.js'));
    traceMark('run machinery loaded');
  } catch (e) {
    workers.pool.close(); // executeRun closes them from here on
    throw e;
  }
  const outcome = await executeRun({
    workers,
    config,
    graph,
    path: analysis.path,
    params,
    includes,
    seed,
    tags: o.flags.tag ?? [],
    origin,
    user,
    maxWorkers: o.flags['max-workers'],
    maxNumSplits: o.flags['max-num-splits'],
    quiet,
    json: o.json,
    refreshEnvs: o.flags['refresh-envs'],
    environment: o.flags.environment === 'conda' ? 'conda' : undefined,
    cache: o.flags.cache,
    onStart: (run) => {
      if (!o.json) process.stdout.write(`${run.id}\n`);
      if (!quiet)
        process.stderr.write(
          `${run.id}: ${displayValue(run.flow)} started (${displayValue(run.file, PATH_DISPLAY_MAX)})${
            Object.keys(run.params).length
              ? ` with ${Object.entries(run.params)
                  .map(([k, v]) => displayValue(`${k}=${JSON.stringify(v)}`))
                  .join(' ')}`
              : ''
          }\n`,
        );
    },
    onFinish: (run) => {
      if (!quiet) o.log(summaryLine(run));
      // -q prints only the run id on stdout; why a run failed still goes to stderr (exit 1 alone says nothing).
      else if (run.status !== 'ok') process.stderr.write(`${summaryLine(run)}\n`);
    },
  });
  return outcome;
}

/**
 * The run `flow resume` continues when none is named: the flow's latest failed or interrupted
 * run that no run has resumed yet (a second `flow resume` after a successful one does not redo
 * it), among the user's own runs; replays are never resumed.
 */
export function defaultOrigin(all: RunRecord[], flow: string, user: string, file: string): string {
  const runs = selectRuns(all, { flow, namespace: userNamespace(user), kinds: ['run', 'resume'] });
  const resumed = new Set(all.flatMap((r) => (r.origin ? [r.origin.run] : [])));
  const origin = runs.find((r) => (r.status === 'failed' || r.status === 'interrupted') && !resumed.has(r.id));
  if (origin) return origin.id;
  const latest = runs[0];
  const lastFailed = runs.find((r) => r.status === 'failed' || r.status === 'interrupted');
  const by = lastFailed && all.find((r) => r.origin?.run === lastFailed.id);
  const state = !latest ? '' : by ? `the latest failed one, ${lastFailed!.id}, was resumed by ${by.id} (${by.status})` : `the latest, ${latest.id}, is ${latest.status}`;
  throw new UsageError('RESUME_NOTHING', latest ? `There is no failed or interrupted run of ${flow} left to resume: ${state}.` : `There is no run of ${flow} by ${user} to resume.`, {
    file,
    fix: latest ? `Name the run (and the step to rerun from): flow resume ${file} --origin ${latest.id} --step <step>.` : `Start one with flow run ${file}.`,
  });
}

/** What a resume reuses, said before it starts: "reusing 14 tasks of run-14 (commit ab12cd, failed at fit)". */
function reuseLine(origin: RunRecord, plan: ResumePlan): string {
  const perStep = new Map<string, number>();
  for (const key of plan.reuse.keys()) {
    const step = key.split('/')[0]!;
    perStep.set(step, (perStep.get(step) ?? 0) + 1);
  }
  const commit = origin.git ? `commit ${origin.git.commit?.slice(0, 10) ?? 'none'}${origin.git.dirty ? ' + uncommitted changes' : ''}` : 'no git';
  const steps = [...perStep].map(([step, n]) => (n > 1 ? `${step} ×${n}` : step)).join(', ');
  return `resuming ${origin.id} (${commit}, ${origin.status}): reusing ${plan.reuse.size} task(s) of ${origin.id}${steps ? ` (${displayValue(steps)})` : ''}, rerunning from ${plan.step}`;
}

export function summaryLine(r: RunRecord): string {
  const tasks = Object.values(r.summary ?? {}).reduce((n, s) => n + s.tasks, 0);
  const secs = ((r.durationMs ?? 0) / 1000).toFixed(1);
  const flow = displayValue(r.flow);
  const cached = Object.values(r.summary ?? {}).reduce((n, s) => n + (s.cached ?? 0), 0);
  const fromCache = r.cache ? `, reused ${cached} of ${tasks} tasks from cache` : '';
  const reused = `${r.origin?.reused ? `, ${r.origin.reused} reused from ${r.origin.run}` : ''}${fromCache}`;
  if (r.status === 'ok') return `${r.id}: ${flow} finished ok in ${secs}s (${tasks} tasks${reused})`;
  const fix = r.error?.fix && !r.error.fix.includes('flow logs') ? `\n  Fix: ${displayText(r.error.fix)}` : '';
  const err = r.error ? `: task ${displayValue(r.error.task ?? '')} failed with ${displayValue(r.error.code)}: ${displayText(r.error.message)}${fix}\n  See its output: flow logs ${r.id}/${displayValue(r.error.task ?? '')}` : '';
  return `${r.id}: ${flow} ${r.status} after ${secs}s${err}\n  Continue it with: flow resume ${displayValue(r.file, PATH_DISPLAY_MAX)} --origin ${r.id}`;
}
