import type { Run, Task } from '../client/client.js';
import type { AttemptRecord, TaskRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { duration } from './views.js';
import { displayText, displayValue } from '../util/terminal.js';

/** `flow inspect RUN/STEP`: the step's tasks, each with its status, attempts and the artifacts it set. */
export interface StepInspectView {
  schema: 'flowrun.inspect-step/1';
  run: string;
  step: string;
  type: string;
  tasks: Array<{ id: string; status: TaskRecord['status']; attempts: number; durationMs: number; produced: string[]; clonedFrom?: string; error?: string }>;
}

/** `flow inspect RUN/STEP/TASK`: one task whole, each artifact with where it comes from. */
export interface TaskInspectView {
  schema: 'flowrun.inspect-task/1';
  task: TaskRecord;
  /** Artifact name → null when this task set it, else the parent (`step/id`) it carried it over from. */
  sources: Record<string, string | null>;
  /** The run's parameter names (start holds them as artifacts). */
  params: string[];
}

export async function inspectStep(run: Run, stepName: string): Promise<StepInspectView> {
  const step = run.step(stepName);
  const tasks = await step.tasks();
  return {
    schema: 'flowrun.inspect-step/1',
    run: run.id,
    step: stepName,
    type: run.record.steps.find((s) => s.name === stepName)!.type,
    tasks: tasks.map((t) => {
      const sources = t.artifactSources();
      const last = t.record.attempts.at(-1);
      return {
        id: t.id,
        status: t.status,
        attempts: t.record.attempts.length,
        durationMs: t.record.attempts.reduce((n, a) => n + a.durationMs, 0),
        produced: Object.keys(sources)
          .filter((n) => sources[n] === null && !Object.hasOwn(run.record.params, n))
          .sort(),
        ...(t.record.clonedFrom ? { clonedFrom: t.record.clonedFrom } : {}),
        ...(last?.error ? { error: `${last.error.code}: ${last.error.message}` } : {}),
      };
    }),
  };
}

export function inspectTask(run: Run, task: Task): TaskInspectView {
  return { schema: 'flowrun.inspect-task/1', task: task.record, sources: task.artifactSources(), params: Object.keys(run.record.params) };
}

export function renderStep(v: StepInspectView): string {
  const out = [`${v.run}/${v.step}  ${v.type}  ${v.tasks.length} task(s)`, ''];
  out.push(...table([['  TASK', 'STATUS', 'ATTEMPTS', 'DURATION', 'ARTIFACTS SET', 'NOTE'], ...v.tasks.map((t) => [`  ${t.id}`, t.status, String(t.attempts), duration(t.durationMs), t.produced.join(', ') || '-', t.error ? displayText(t.error) : t.clonedFrom ? `reused from ${t.clonedFrom}` : ''])]));
  out.push('', `A task: flow inspect ${v.run}/${v.step}/<task>; its value: flow get ${v.run}/${v.step}/<task> <artifact>; every task's: flow get ${v.run}/${v.step} <artifact> --all.`);
  return out.join('\n');
}

export function renderTask(v: TaskInspectView): string {
  const t = v.task;
  const path = `${t.run}/${t.step}/${t.id}`;
  const out = [`${path}  ${t.status}`];
  if (t.stack.length) out.push(`  foreach   ${t.stack.map((f) => `${f.step} item ${f.index} of ${f.count}`).join(', ')}`);
  out.push(`  parents   ${t.parents.map((p) => displayValue(p)).join(', ') || '-'}`);
  if (t.clonedFrom) out.push(`  reused    from ${displayValue(t.clonedFrom)} by flow resume (not run again)`);
  if (t.next) out.push(`  next      ${t.next.targets.join(', ')}${t.next.foreach ? ` (foreach ${t.next.foreach}${t.next.count !== undefined ? `, ${t.next.count} items` : ''})` : ''}`);
  if (t.caught) out.push(`  caught    ${displayValue(t.caught.code)}: ${displayText(t.caught.message)} (@catchError)`);
  out.push('', 'Attempts');
  out.push(...table([['  #', 'STATUS', 'STARTED', 'DURATION', 'SEED', 'ERROR'], ...t.attempts.map((a: AttemptRecord) => [`  ${a.attempt}`, a.status, a.started.replace('T', ' ').slice(0, 19), duration(a.durationMs), a.seed?.slice(0, 12) ?? '-', a.error ? displayText(`${a.error.code}: ${a.error.message}`) : ''])]));
  out.push('', 'Artifacts');
  const rows = [['  ARTIFACT', 'HASH', 'SIZE', 'FROM']];
  for (const name of Object.keys(t.artifacts).sort()) {
    const ref = t.artifacts[name]!;
    const from = v.sources[name];
    const origin = from ? `carried over from ${from}` : v.params.includes(name) ? 'parameter' : 'set here';
    rows.push([`  ${name}`, ref.hash.slice(0, 12), `${ref.size} B`, origin]);
  }
  out.push(...(rows.length > 1 ? table(rows) : ['  (none)']));
  if (t.cards?.length) out.push('', `Cards: ${t.cards.map((c) => c.id).join(', ')} (flow card ${path})`);
  out.push('', `Its output: flow logs ${path}${t.attempts.length > 1 ? ' [--attempt N]' : ''}; a value: flow get ${path} <artifact>.`);
  return out.join('\n');
}
