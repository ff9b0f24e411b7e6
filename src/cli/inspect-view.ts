import type { Run } from '../client/client.js';
import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { duration } from './views.js';
import { PATH_DISPLAY_MAX, displayText, displayValue } from '../util/terminal.js';
import { artifactSources } from '../client/sources.js';
import { listedStatus } from '../metadata/run-query.js';

export interface InspectView {
  schema: 'flowrun.inspect/1';
  run: RunRecord;
  steps: Array<{ name: string; type: string; tasks: Array<InspectedTask> }>;
}

/** A task as `flow inspect RUN` lists it: `produced` names the artifacts it set (the others it carried over). */
type InspectedTask = Pick<TaskRecord, 'id' | 'status' | 'attempts' | 'artifacts' | 'clonedFrom' | 'cachedFrom'> & { produced: string[] };

export async function inspectRun(run: Run): Promise<InspectView> {
  const records = new Map<string, TaskRecord>();
  const byStep: Array<{ name: string; type: string; tasks: TaskRecord[] }> = [];
  for (const s of run.record.steps) {
    const tasks = (await run.step(s.name).tasks()).map((t) => t.record);
    for (const t of tasks) records.set(`${t.step}/${t.id}`, t);
    byStep.push({ name: s.name, type: s.type, tasks });
  }
  const steps = byStep.map((s) => ({
    name: s.name,
    type: s.type,
    tasks: s.tasks.map((t): InspectedTask => {
      const sources = artifactSources(
        t,
        t.parents.flatMap((p) => records.get(p) ?? []),
      );
      // Parameters are artifacts of start too; the params line shows them.
      const produced = Object.keys(sources)
        .filter((n) => sources[n] === null && !Object.hasOwn(run.record.params, n))
        .sort();
      return { id: t.id, status: t.status, attempts: t.attempts, artifacts: t.artifacts, produced, ...(t.clonedFrom ? { clonedFrom: t.clonedFrom } : {}), ...(t.cachedFrom ? { cachedFrom: t.cachedFrom } : {}) };
    }),
  }));
  return { schema: 'flowrun.inspect/1', run: run.record, steps };
}

export function renderInspect(v: InspectView): string {
  const r = v.run;
  const out = [
    `${r.id}  ${displayValue(r.flow)}  ${listedStatus(r)}`,
    `  file      ${displayValue(r.file, PATH_DISPLAY_MAX)}`,
    `  started   ${r.started}   duration ${duration(r.durationMs)}`,
    `  params    ${
      Object.entries(r.params)
        .map(([k, x]) => displayValue(`${k}=${JSON.stringify(x)}`))
        .join(' ') || '-'
    }`,
    `  seed      ${r.seed}   tags ${r.tags.map((t) => displayValue(t)).join(',') || '-'}   user ${displayValue(r.user ?? '-')}`,
    `  env       node ${r.node}, flowrun ${r.flowrunVersion}`,
  ];
  if (r.env?.lockfile) out.push(`  lockfile  ${r.env.lockfile.name} ${r.env.lockfile.hash.slice(0, 12)} (steps without @npm)`);
  for (const [step, e] of [...Object.entries(r.stepEnvs ?? {}), ...Object.entries(r.condaEnvs ?? {})]) {
    out.push(
      `  env lock  ${step}: ${e.kind} ${e.lock.slice(0, 12)}  ${Object.entries(e.spec.packages)
        .map(([n, v]) => `${n}@${v}`)
        .join(' ')}   (flow env ${r.id}/${step})`,
    );
  }
  if (r.origin) out.push(`  resumed   from ${r.origin.run} at step ${r.origin.step}${r.origin.reused !== undefined ? ` (${r.origin.reused} task(s) reused)` : ''}`);
  if (r.replayOf)
    out.push(
      `  ${r.whatIf ? 'what-if' : 'replay '}   of ${r.replayOf}${
        r.whatIf
          ? ` with ${Object.entries(r.whatIf)
              .map(([k, x]) => displayValue(`${k}=${JSON.stringify(x)}`))
              .join(' ')}`
          : r.verdict
            ? (r.verdict.reproduced ? ': reproduced' : ': did NOT reproduce')
            : ': not verified'
      }`,
    );
  if (r.cache) out.push(`  cache     reused ${v.steps.reduce((n, s) => n + s.tasks.filter((t) => t.cachedFrom).length, 0)} of ${v.steps.reduce((n, s) => n + s.tasks.length, 0)} tasks (${r.cache.local} here, ${r.cache.remote} from the mirror); steps cached: ${r.cache.steps.join(', ')}`);
  if (r.error) out.push(`  error     ${displayValue(r.error.task ?? '')}: ${displayValue(r.error.code)}: ${displayText(r.error.message)}`);
  out.push('', 'Steps');
  const cachedFrom = (s: InspectView['steps'][number]) => [...new Set(s.tasks.map((t) => t.cachedFrom?.split('/')[0]).filter(Boolean))].join(',');
  out.push(
    ...table([
      ['  STEP', 'TYPE', 'TASKS', 'OK', 'FAILED', 'ATTEMPTS', ...(r.cache ? ['CACHED'] : [])],
      ...v.steps.map((s) => [
        `  ${s.name}`,
        s.type,
        String(s.tasks.length),
        String(s.tasks.filter((t) => t.status === 'ok').length),
        String(s.tasks.filter((t) => t.status === 'failed').length),
        String(s.tasks.reduce((n, t) => n + t.attempts.length, 0)),
        ...(r.cache ? [`${s.tasks.filter((t) => t.cachedFrom).length}${cachedFrom(s) ? ` (from ${cachedFrom(s)})` : ''}`] : []),
      ]),
    ]),
  );
  out.push('', 'Artifacts, in the step that set them (its first task; later steps carry them over)');
  const rows = [['  STEP/TASK', 'ARTIFACT', 'HASH', 'SIZE', '']];
  for (const s of v.steps) {
    const t = s.tasks[0];
    if (!t) continue;
    const more = s.tasks.length > 1 ? `1 of ${s.tasks.length} tasks: flow inspect ${r.id}/${s.name}` : '';
    for (const name of t.produced) rows.push([`  ${s.name}/${t.id}`, name, t.artifacts[name]!.hash.slice(0, 12), `${t.artifacts[name]!.size} B`, more]);
  }
  out.push(...table(rows));
  out.push('', `A step's tasks: flow inspect ${r.id}/<step>; a task: flow inspect ${r.id}/<step>/<task>.`);
  return out.join('\n');
}
