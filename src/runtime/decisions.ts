import type { StepSettings } from '../decorators/settings.js';
import type { FlowErrorJson } from '../errors/index.js';
import type { StepNode } from '../graph/types.js';
import type { TaskRecord } from '../metadata/records.js';
import type { DoneTask, TaskSpec } from './successors.js';

/** What the scheduler does after an attempt failed. */
export type AfterFailure = 'retry' | 'catch' | 'fail';

/**
 * After a failed attempt: another attempt while @retry has some left and the run goes on; once
 * they are spent, @catchError stores the error and the flow continues (not in a foreach step,
 * whose split count the failed attempt never produced, nor when the run is stopping); else the
 * task fails.
 */
export function afterFailure(settings: Pick<StepSettings, 'attempts' | 'catchVar'>, attempt: number, o: { stopping: boolean; foreachStep: boolean }): AfterFailure {
  if (attempt < settings.attempts - 1 && !o.stopping) return 'retry';
  return settings.catchVar && !o.stopping && !o.foreachStep ? 'catch' : 'fail';
}

/**
 * Whether a failed attempt's stack goes into its stderr log: always, except for the error
 * @catchError({ printException: false }) catches (the last attempt's), which asked for silence.
 */
export function logsStack(settings: Pick<StepSettings, 'attempts' | 'catchVar' | 'printException'>, attempt: number): boolean {
  return !(settings.catchVar !== undefined && !settings.printException && attempt === settings.attempts - 1);
}

/**
 * The origin task a resume reuses for `spec`, if any: only when everything it read was reused
 * too (or `always`, for flow cache verify) and it read the same tasks as `spec` does.
 */
export function cloneSource(spec: TaskSpec, cloneFrom: ((step: string, id: string) => TaskRecord | undefined) | undefined, always = false): TaskRecord | undefined {
  const cloned = always || spec.parents.every((p) => p.cloned) ? cloneFrom?.(spec.step, spec.id) : undefined;
  return cloned && cloned.parents.join(',') === spec.parents.map((p) => `${p.step}/${p.id}`).join(',') ? cloned : undefined;
}

/** The transition a task asked for must be the one read from the source (`file` is the flow file). */
export function checkNext(node: StepNode, file: string, next: DoneTask['next']): FlowErrorJson | undefined {
  const step = node.name;
  if (node.type === 'end') return undefined;
  if (!next) return { code: 'GRAPH_MISSING_NEXT', message: `Step ${step} returned without calling this.next(...).`, step, exitCode: 1, fix: 'Call this.next(...) on every path through the step.' };
  const same = next.targets.join(',') === node.next.join(',') && (next.foreach ?? null) === (node.foreach ?? null);
  if (same) return undefined;
  return {
    code: 'GRAPH_DYNAMIC_NEXT',
    file,
    line: node.transitions[0]?.line,
    fix: 'Make the next() call match what the source says on every path; the graph is read before the run.',
    message: `Step ${step} called next(${next.targets.join(', ')}${next.foreach ? `, foreach ${next.foreach}` : ''}) but the graph read from the source says next(${node.next.join(', ')}${node.foreach ? `, foreach ${node.foreach}` : ''}).`,
    step,
    exitCode: 1,
  };
}
