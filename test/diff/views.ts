import { readFileSync } from 'node:fs';
import type { RunView } from '../../src/diff/diff.js';
import type { LockedPackage } from '../../src/env/npm.js';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph } from '../../src/graph/types.js';
import type { ArtifactRef, ManifestEntry, RunRecord, TaskRecord } from '../../src/metadata/records.js';
import type { Literal } from '../../src/util/literal.js';

// Runs of test/flows/diff-why.ts built in memory, as `flow run` would record them: each
// artifact's hash is a string naming what it was computed from, so two runs' hashes match
// exactly when the inputs they depend on do. diffRuns then sees what the CLI tests see.

export const FLOW_FILE = 'test/flows/diff-why.ts';
export const FLOW_TEXT = readFileSync(FLOW_FILE, 'utf8');

/** The graph of the flow source (what each step reads, each step's source hash). */
export function graphOf(text = FLOW_TEXT): FlowGraph {
  const { graph, errors } = extractGraph(FLOW_FILE, text);
  if (!graph) throw new Error(`no graph: ${errors.map((e) => e.message).join('; ')}`);
  return graph;
}

const STEPS = [
  { name: 'start', type: 'linear' },
  { name: 'prep', type: 'foreach' },
  { name: 'fit', type: 'linear' },
  { name: 'join', type: 'join' },
  { name: 'end', type: 'end' },
];

export interface TrainOptions {
  id?: string;
  alpha?: number;
  extra?: number;
  seed?: number;
  /** Splits of fit (the real flow always has 2; a changed flow may have more). */
  splits?: number;
  /** Make fit's tasks fail (and the run with them): join and end never run. */
  failFit?: boolean;
  /** What fit's model computation is (changed code changes its hashes). */
  fitCode?: string;
  /** Per step: the env lock hash. */
  envLocks?: Record<string, string | null>;
  /** The run the tasks of these steps were reused from (step cache). */
  cachedFrom?: { run: string; steps: string[] };
  manifest?: ManifestEntry[];
  codeHash?: string;
  commit?: string | null;
  record?: Partial<RunRecord>;
  graph?: FlowGraph;
}

const ref = (hash: string): ArtifactRef => ({ hash, size: hash.length });

export function file(path: string, sha256: string, mode = 0o644): ManifestEntry {
  return { path, sha256, size: 1, mode };
}

export const MANIFEST: ManifestEntry[] = [file('flows/diff-why.ts', 'f1'), file('rows.csv', 'r1'), file('src/helpers.ts', 'h1')];

/** A run of DiffWhyFlow: the records flow run would write, and its graph. */
export function trainRun(o: TrainOptions = {}): RunView {
  const id = o.id ?? 'run-1';
  const alpha = o.alpha ?? 0.1;
  const extra = o.extra ?? 0;
  const seed = o.seed ?? 1;
  const splits = o.splits ?? 2;
  const params: Record<string, Literal> = { alpha, fail: o.failFit ?? false, extra, data: 'rows.csv' };
  const paramRefs = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, ref(`${k}=${JSON.stringify(v)}`)]));
  const tasks: Record<string, TaskRecord[]> = {};
  const add = (step: string, tid: string, parents: TaskRecord[], own: Record<string, string>, over: Partial<TaskRecord> = {}) => {
    const inherited = parents.length === 1 ? parents[0]!.artifacts : {};
    const artifacts = { ...paramRefs, ...inherited, ...Object.fromEntries(Object.entries(own).map(([k, h]) => [k, ref(h)])) };
    const cached = o.cachedFrom?.steps.includes(step) ? { cachedFrom: `${o.cachedFrom.run}/${step}/${tid}` } : {};
    const rec: TaskRecord = {
      schema: 'flowrun.task/1',
      run: id,
      step,
      id: tid,
      stack: [],
      parents: parents.map((p) => `${p.step}/${p.id}`),
      status: 'ok',
      attempts: [{ attempt: 0, started: 't0', finished: 't1', durationMs: 10, status: 'ok' }],
      artifacts,
      logs: { stdout: 'o', stderr: 'e' },
      ...cached,
      ...over,
    };
    (tasks[step] ??= []).push(rec);
    return rec;
  };
  const start = add('start', '0', [], { rows: 'rows:r1', order: `order:seed${seed}` });
  const prep = add('prep', '0', [start], { grid: `grid:${alpha}x${splits}` }, { next: { targets: ['fit'], foreach: 'grid', count: splits } });
  const fits: TaskRecord[] = [];
  for (let i = 0; i < splits; i++) {
    const model = `model:${o.fitCode ?? 'v1'}:${alpha}:${i}:seed${seed}`;
    fits.push(o.failFit ? add('fit', String(i), [prep], {}, { status: 'failed', artifacts: {}, stack: [{ step: 'prep', index: i, count: splits }] }) : add('fit', String(i), [prep], { model, score: `score:${model}` }, { stack: [{ step: 'prep', index: i, count: splits }] }));
  }
  if (!o.failFit) {
    const join = add('join', '0', fits, { best: `best:${fits.map((f) => f.artifacts.model!.hash).join('|')}` });
    add('end', '0', [join], { big: `big:${extra}` });
  }
  const record: RunRecord = {
    schema: 'flowrun.run/1',
    id,
    flow: 'DiffWhyFlow',
    file: FLOW_FILE,
    status: o.failFit ? 'failed' : 'ok',
    params,
    seed,
    tags: [],
    started: '2025-01-01T00:00:00.000Z',
    host: 'host',
    pid: 1,
    flowrunVersion: '0.1.0',
    node: 'v20.19.0',
    steps: o.failFit ? STEPS.slice(0, 3) : STEPS,
    git: { commit: o.commit === undefined ? 'c0ffee' : o.commit, branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false },
    code: { hash: o.codeHash ?? 'code-1', manifest: 'manifest-1', files: 3, bytes: 30 },
    env: { node: 'v20.19.0', flowrun: '0.1.0', os: 'linux', arch: 'x64', lockfile: { name: 'package-lock.json', hash: 'lock-0' } },
    ...(o.envLocks ? { envLocks: o.envLocks } : {}),
    ...o.record,
  };
  return { record, tasks, manifest: o.manifest ?? MANIFEST, graph: o.graph ?? graphOf() };
}

export function pkg(name: string, version: string, path = `node_modules/${name}`): LockedPackage {
  return { path, name, version };
}
