import './backends.js';
import { UsageError } from '../errors/index.js';
import { parseParams, resolveParams } from '../runtime/params.js';
import type { RunRecord } from '../metadata/records.js';
import type { RunOptions, RunOutcome } from '../runtime/run.js';
import { startWorkers } from '../runtime/workers.js';
import { loadFlowGraph } from './load.js';
import { applyWith, parseWith } from '../graph/with.js';
import { PATH_DISPLAY_MAX, displayText, displayValue } from '../util/terminal.js';

export interface RunFlags {
  'max-workers'?: number;
  'max-num-splits': number;
  tag: string[];
  seed?: number;
  quiet: boolean;
  'refresh-envs'?: boolean;
  environment?: string;
  /** --with NAME[:k=v,...]: a decorator attached to every step. */
  with?: string[];
}

/**
 * The flow's own parameters among a run command's raw arguments: everything after the flow
 * file that is not one of the command's flags (with its value) or a global flag.
 */
export function paramArgs(raw: readonly string[], flags: Record<string, { type: string; char?: string }>): { params: string[]; rest: string[] } {
  const valued = new Set<string>();
  const bare = new Set(['--json', '--debug']);
  for (const [name, f] of Object.entries(flags)) {
    const set = f.type === 'boolean' ? bare : valued;
    set.add(`--${name}`);
    if (f.char) set.add(`-${f.char}`);
  }
  const params: string[] = [];
  const rest: string[] = [];
  let fileSeen = false;
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    const name = a.split('=')[0]!;
    if (bare.has(a) || a === '--help' || a === '-h') { rest.push(a); continue; }
    if (valued.has(name)) {
      rest.push(a);
      if (!a.includes('=') && i + 1 < raw.length) rest.push(raw[++i]!);
      continue;
    }
    if (!fileSeen && !a.startsWith('-')) { fileSeen = true; rest.push(a); continue; }
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
  const loaded = await loadFlowGraph(o.file);
  const { config, analysis } = loaded;
  const graph = applyWith(loaded.graph, (o.flags.with ?? []).map(parseWith));
  let params = resolveParams(graph, parseParams(graph, o.paramArgv));
  let seed = o.flags.seed;
  let origin: RunOptions['origin'];
  let includes: RunOptions['includes'];
  if (o.resume) {
    const { Run, listRuns, openProjectStore } = await import('../client/client.js');
    const { planResume } = await import('../plan/resume.js');
    const store = openProjectStore(config);
    const runs = (await listRuns(store)).filter((r) => r.flow === graph.flow);
    const id = o.resume.origin ?? runs.find((r) => r.status === 'failed' || r.status === 'interrupted')?.id;
    if (!id) {
      const latest = runs[0];
      throw new UsageError('RESUME_NOTHING', latest
        ? `There is no failed or interrupted run of ${graph.flow} to resume: the latest, ${latest.id}, is ${latest.status}.`
        : `There is no run of ${graph.flow} to resume.`, {
        file: analysis.displayPath,
        fix: latest ? `Rerun from a step: flow resume ${analysis.displayPath} --origin ${latest.id} --step <step>.` : `Start one with flow run ${analysis.displayPath}.`,
      });
    }
    const run = await Run.open(store, id);
    const plan = await planResume(graph, run, o.resume.step);
    params = run.params;
    seed = run.record.seed;
    includes = run.record.includes;
    origin = { run: id, step: plan.step, cloneFrom: (step, taskId) => plan.reuse.get(`${step}/${taskId}`) };
  }
  const quiet = o.flags.quiet;
  // The workers start before the run machinery is loaded (runtime/run.js and what it imports):
  // their start-up overlaps it.
  const workers = startWorkers({ config, graph, maxWorkers: o.flags['max-workers'], quiet });
  let executeRun: typeof import('../runtime/run.js').executeRun;
  try {
    ({ executeRun } = await import('../runtime/run.js'));
  } catch (e) {
    workers.pool.close(); // executeRun closes them from here on
    throw e;
  }
  const outcome = await executeRun({
    workers, config, graph, path: analysis.path, params, includes, seed, tags: o.flags.tag, origin,
    maxWorkers: o.flags['max-workers'], maxNumSplits: o.flags['max-num-splits'], quiet, json: o.json, refreshEnvs: o.flags['refresh-envs'], environment: o.flags.environment === 'conda' ? 'conda' : undefined,
    onStart: (run) => {
      if (!o.json) process.stdout.write(`${run.id}\n`);
      if (!quiet) process.stderr.write(`${run.id}: ${displayValue(run.flow)} started (${displayValue(run.file, PATH_DISPLAY_MAX)})${Object.keys(run.params).length ? ` with ${Object.entries(run.params).map(([k, v]) => displayValue(`${k}=${JSON.stringify(v)}`)).join(' ')}` : ''}\n`);
    },
    onFinish: (run) => { if (!quiet) o.log(summaryLine(run)); },
  });
  return outcome;
}

export function summaryLine(r: RunRecord): string {
  const tasks = Object.values(r.summary ?? {}).reduce((n, s) => n + s.tasks, 0);
  const secs = ((r.durationMs ?? 0) / 1000).toFixed(1);
  const flow = displayValue(r.flow);
  if (r.status === 'ok') return `${r.id}: ${flow} finished ok in ${secs}s (${tasks} tasks)`;
  const err = r.error ? `: task ${displayValue(r.error.task ?? '')} failed with ${displayValue(r.error.code)}: ${displayText(r.error.message)}\n  See its output: flow logs ${r.id}/${displayValue(r.error.task ?? '')}` : '';
  return `${r.id}: ${flow} ${r.status} after ${secs}s${err}\n  Continue it with: flow resume ${displayValue(r.file, PATH_DISPLAY_MAX)} --origin ${r.id}`;
}
