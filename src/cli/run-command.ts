import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { analyzeFlow } from '../loader/analyze.js';
import { parseParams, resolveParams } from '../runtime/params.js';
import type { RunRecord } from '../runtime/records.js';
import { executeRun, type RunOutcome } from '../runtime/run.js';
import { GraphErrors, type GraphError } from '../errors/index.js';

export interface RunFlags {
  'max-workers'?: number;
  'max-num-splits': number;
  tag: string[];
  seed?: number;
  quiet: boolean;
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

export async function startRun(o: { file: string; paramArgv: string[]; flags: RunFlags; json: boolean; log: (line: string) => void }): Promise<RunOutcome> {
  const config = loadConfig(dirname(resolve(o.file)));
  const analysis = await analyzeFlow(o.file, config.projectRoot);
  if (analysis.errors.length > 0 || !analysis.graph) {
    const errs = analysis.errors as GraphError[];
    throw errs.length === 1 ? errs[0]! : new GraphErrors(errs);
  }
  const graph = analysis.graph;
  const params = resolveParams(graph, parseParams(graph, o.paramArgv));
  const quiet = o.flags.quiet;
  const outcome = await executeRun({
    config, graph, path: analysis.path, params, seed: o.flags.seed, tags: o.flags.tag,
    maxWorkers: o.flags['max-workers'], maxNumSplits: o.flags['max-num-splits'], quiet, json: o.json,
    onStart: (run) => {
      if (quiet || !o.json) process.stdout.write(`${run.id}\n`);
      if (!quiet) process.stderr.write(`${run.id}: ${run.flow} started (${run.file})${Object.keys(run.params).length ? ` with ${Object.entries(run.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}` : ''}\n`);
    },
  });
  if (!quiet) o.log(summaryLine(outcome.record));
  return outcome;
}

export function summaryLine(r: RunRecord): string {
  const tasks = Object.values(r.summary ?? {}).reduce((n, s) => n + s.tasks, 0);
  const secs = ((r.durationMs ?? 0) / 1000).toFixed(1);
  if (r.status === 'ok') return `${r.id}: ${r.flow} finished ok in ${secs}s (${tasks} tasks)`;
  const err = r.error ? `: task ${r.error.task} failed with ${r.error.code}: ${r.error.message}\n  See its output: flow logs ${r.id}/${r.error.task}` : '';
  return `${r.id}: ${r.flow} ${r.status} after ${secs}s${err}\n  Continue it with: flow resume ${r.file} --origin ${r.id}`;
}
