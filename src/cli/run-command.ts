import './backends.js';
import type { RunRecord } from '../metadata/records.js';
import { currentUser } from '../metadata/user.js';
import { loadResumeOrigin, type ResumePlan } from '../plan/resume.js';
import { prepareRun, resumeFrom } from '../plan/run-plan.js';
import type { RunOutcome } from '../runtime/run.js';
import { startWorkers } from '../runtime/workers.js';
import { loadFlowGraph } from './load.js';
import { parseWith } from '../graph/with.js';
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
  const withs = (o.flags.with ?? []).map(parseWith);
  const plannedRun = prepareRun({
    config,
    graph: loaded.graph,
    path: analysis.path,
    with: withs,
    paramArgv: o.paramArgv,
    seed: o.flags.seed,
    tags: o.flags.tag ?? [],
    maxNumSplits: o.flags['max-num-splits'],
    cache: o.flags.cache,
    environment: o.flags.environment === 'conda' ? 'conda' : undefined,
    refreshEnvs: o.flags['refresh-envs'],
    resuming: o.resume !== undefined,
  });
  // After the flow's own flags, as before: a bad --with or parameter is said first.
  const user = currentUser(o.flags.user);
  const planned = { ...plannedRun, user };
  // A resume reads its origin once the flags are known to be good.
  const origin = o.resume && (await loadResumeOrigin(config, planned.graph, user, analysis.displayPath, o.resume));
  const resumed = origin && resumeFrom(planned, origin, o.resume?.step);
  const plan = resumed ? resumed.plan : planned;
  const quiet = o.flags.quiet;
  if (resumed && !quiet) process.stderr.write(`${reuseLine(origin.record, resumed.resume)}\n`);
  // The workers start before the run machinery is loaded (runtime/run.js and what it imports):
  // their start-up overlaps it.
  const workers = startWorkers({ config, graph: plan.graph, maxWorkers: o.flags['max-workers'], quiet, cache: o.flags.cache });
  traceMark('workers started');
  let machinery: [typeof import('../runtime/run.js'), typeof import('./run-view.js')];
  try {
    machinery = await Promise.all([import('../runtime/run.js'), import('./run-view.js')]);
    traceMark('run machinery loaded');
  } catch (e) {
    workers.pool.close(); // applyRun closes them from here on
    throw e;
  }
  const [{ applyRun }, { runView }] = machinery;
  const events = runView({
    quiet,
    json: o.json,
    onStarted: (run) => {
      if (!o.json) process.stdout.write(`${run.id}\n`);
      if (!quiet) process.stderr.write(`${startedLine(run)}\n`);
    },
    onFinished: (run) => {
      if (!quiet) o.log(summaryLine(run));
      // -q prints only the run id on stdout; why a run failed still goes to stderr (exit 1 alone says nothing).
      else if (run.status !== 'ok') process.stderr.write(`${summaryLine(run)}\n`);
    },
  });
  return applyRun(plan, { workers, events });
}

/** "run-41: TrainFlow started (flows/train.ts) with alpha=0.1". */
function startedLine(run: RunRecord): string {
  const params = Object.entries(run.params).map(([k, v]) => displayValue(`${k}=${JSON.stringify(v)}`));
  return `${run.id}: ${displayValue(run.flow)} started (${displayValue(run.file, PATH_DISPLAY_MAX)})${params.length ? ` with ${params.join(' ')}` : ''}`;
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
