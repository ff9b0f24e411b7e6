import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openStore, Run } from '../../src/client/client.js';
import { flow, tempProject } from '../helpers/cli.js';

/**
 * A 9-task pipeline for step cache tests: `start` reads n, each `transform` split calls a
 * helper module only it imports, `gather` joins them, `jitter` calls Math.random, `report`
 * reads the param label and another helper module, `end` reads nothing. `unused` is read by no one.
 */
export const PIPELINE = `import { FlowSpec, step, param, type Inputs } from 'flowrun';
import { scale } from './lib/scale.js';
import { fmt } from './lib/fmt.js';

export default class CachePipeline extends FlowSpec {
  @param() n = 4;
  @param() label = 'x';
  @param() unused = 0;

  items!: number[];
  scaled!: number;
  total!: number;
  noise!: number;
  text!: string;

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.next(this.transform, { foreach: 'items' });
  }

  @step transform() {
    this.scaled = scale(this.input as number);
    this.next(this.gather);
  }

  @step gather(inputs: Inputs<CachePipeline>) {
    this.total = inputs.reduce((a, i) => a + i.scaled, 0);
    this.next(this.jitter);
  }

  @step jitter() {
    this.noise = Math.random();
    this.next(this.report);
  }

  @step report() {
    this.text = fmt(this.label, this.total);
    this.next(this.end);
  }

  @step end() {}
}
`;

export const SCALE = 'export function scale(x: number): number { return x * 10; }\n';
export const FMT = 'export function fmt(label: string, total: number): string { return `${label}=${total}`; }\n';

export async function pipelineProject(): Promise<string> {
  return tempProject({ 'flows/pipeline.ts': PIPELINE, 'flows/lib/scale.ts': SCALE, 'flows/lib/fmt.ts': FMT });
}

export function edit(dir: string, file: string, from: string, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

export interface RunView {
  id: string;
  stderr: string;
  /** step/task → the cachedFrom of its record (undefined: it ran). */
  cached: Record<string, string | undefined>;
  /** step/task → artifact name → hash. */
  artifacts: Record<string, Record<string, string>>;
  summary: string;
}

/** Runs the flow with the CLI, then reads the run back (with the client API: the run is what is tested). */
export async function runFlow(dir: string, args: string[], env: Record<string, string> = {}, file = 'flows/pipeline.ts'): Promise<RunView> {
  const r = await flow(['run', file, '--max-workers', '2', ...args], { cwd: dir, env });
  expect(r.exitCode, r.stderr).toBe(0);
  const id = r.stdout.split('\n')[0]!.trim();
  return { ...(await inspect(dir, id)), stderr: r.stderr, summary: r.stdout.split('\n').find((l) => l.includes('finished')) ?? '' };
}

export async function inspect(dir: string, id: string, store = join(dir, '.flow')): Promise<Omit<RunView, 'stderr' | 'summary'>> {
  const run = await Run.open(openStore({ store }), id);
  const cached: RunView['cached'] = {};
  const artifacts: RunView['artifacts'] = {};
  for (const step of run.steps()) {
    for (const t of await step.tasks()) {
      cached[`${t.step}/${t.id}`] = t.record.cachedFrom;
      artifacts[`${t.step}/${t.id}`] = Object.fromEntries(Object.entries(t.record.artifacts).map(([k, v]) => [k, v.hash]));
    }
  }
  return { id, cached, artifacts };
}

/** An artifact of a run's end step, through the client API. */
export async function endArtifact(dir: string, id: string, name: string): Promise<unknown> {
  const run = await Run.open(openStore({ store: join(dir, '.flow') }), id);
  return run.artifact(name);
}

/** The tasks that ran (were not reused), sorted. */
export function ran(v: Pick<RunView, 'cached'>): string[] {
  return Object.entries(v.cached)
    .filter(([, from]) => from === undefined)
    .map(([t]) => t)
    .sort();
}

export const ALL_TASKS = ['end/0', 'gather/0', 'jitter/0', 'report/0', 'start/0', 'transform/0', 'transform/1', 'transform/2', 'transform/3'];
