import type { Run } from '../client/client.js';
import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { duration } from './views.js';
import { PATH_DISPLAY_MAX, displayText, displayValue } from '../util/terminal.js';

export interface InspectView {
  schema: 'flowrun.inspect/1';
  run: RunRecord;
  steps: Array<{ name: string; type: string; tasks: Array<Pick<TaskRecord, 'id' | 'status' | 'attempts' | 'artifacts' | 'clonedFrom' | 'cachedFrom'>> }>;
}

export async function inspectRun(run: Run): Promise<InspectView> {
  const steps = [];
  for (const s of run.record.steps) {
    const tasks = await run.step(s.name).tasks();
    steps.push({ name: s.name, type: s.type, tasks: tasks.map((t) => ({
      id: t.id, status: t.status, attempts: t.record.attempts, artifacts: t.record.artifacts,
      ...(t.record.clonedFrom ? { clonedFrom: t.record.clonedFrom } : {}), ...(t.record.cachedFrom ? { cachedFrom: t.record.cachedFrom } : {}),
    })) });
  }
  return { schema: 'flowrun.inspect/1', run: run.record, steps };
}

export function renderInspect(v: InspectView): string {
  const r = v.run;
  const out = [
    `${r.id}  ${displayValue(r.flow)}  ${r.status}`,
    `  file      ${displayValue(r.file, PATH_DISPLAY_MAX)}`,
    `  started   ${r.started}   duration ${duration(r.durationMs)}`,
    `  params    ${Object.entries(r.params).map(([k, x]) => displayValue(`${k}=${JSON.stringify(x)}`)).join(' ') || '-'}`,
    `  seed      ${r.seed}   tags ${r.tags.map((t) => displayValue(t)).join(',') || '-'}`,
    `  env       node ${r.node}, flowrun ${r.flowrunVersion}`,
  ];
  if (r.env?.lockfile) out.push(`  lockfile  ${r.env.lockfile.name} ${r.env.lockfile.hash.slice(0, 12)} (steps without @npm)`);
  for (const [step, e] of [...Object.entries(r.stepEnvs ?? {}), ...Object.entries(r.condaEnvs ?? {})]) {
    out.push(`  env lock  ${step}: ${e.kind} ${e.lock.slice(0, 12)}  ${Object.entries(e.spec.packages).map(([n, v]) => `${n}@${v}`).join(' ')}   (flow env ${r.id}/${step})`);
  }
  if (r.origin) out.push(`  resumed   from ${r.origin.run} at step ${r.origin.step}`);
  if (r.cache) out.push(`  cache     reused ${v.steps.reduce((n, s) => n + s.tasks.filter((t) => t.cachedFrom).length, 0)} of ${v.steps.reduce((n, s) => n + s.tasks.length, 0)} tasks (${r.cache.local} here, ${r.cache.remote} from the mirror); steps cached: ${r.cache.steps.join(', ')}`);
  if (r.error) out.push(`  error     ${displayValue(r.error.task ?? '')}: ${displayValue(r.error.code)}: ${displayText(r.error.message)}`);
  out.push('', 'Steps');
  const cachedFrom = (s: InspectView['steps'][number]) => [...new Set(s.tasks.map((t) => t.cachedFrom?.split('/')[0]).filter(Boolean))].join(',');
  out.push(...table([['  STEP', 'TYPE', 'TASKS', 'OK', 'FAILED', 'ATTEMPTS', ...(r.cache ? ['CACHED'] : [])], ...v.steps.map((s) => [
    `  ${s.name}`, s.type, String(s.tasks.length), String(s.tasks.filter((t) => t.status === 'ok').length),
    String(s.tasks.filter((t) => t.status === 'failed').length), String(s.tasks.reduce((n, t) => n + t.attempts.length, 0)),
    ...(r.cache ? [`${s.tasks.filter((t) => t.cachedFrom).length}${cachedFrom(s) ? ` (from ${cachedFrom(s)})` : ''}`] : []),
  ])]));
  out.push('', 'Artifacts (first task of each step)');
  const rows = [['  STEP/TASK', 'ARTIFACT', 'HASH', 'SIZE']];
  for (const s of v.steps) {
    const t = s.tasks[0];
    if (!t) continue;
    for (const [name, ref] of Object.entries(t.artifacts).sort(([a], [b]) => a.localeCompare(b))) rows.push([`  ${s.name}/${t.id}`, name, ref.hash.slice(0, 12), `${ref.size} B`]);
  }
  out.push(...table(rows));
  return out.join('\n');
}
