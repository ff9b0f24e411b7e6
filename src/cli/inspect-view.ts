import type { Run } from '../client/client.js';
import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { duration } from './views.js';
import { PATH_DISPLAY_MAX, displayText, displayValue } from '../util/terminal.js';
import { listedStatus } from '../metadata/run-query.js';

export interface InspectView {
  schema: 'flowrun.inspect/1';
  run: RunRecord;
  steps: Array<{ name: string; type: string; tasks: Array<Pick<TaskRecord, 'id' | 'status' | 'attempts' | 'artifacts' | 'clonedFrom'>> }>;
}

export async function inspectRun(run: Run): Promise<InspectView> {
  const steps = [];
  for (const s of run.record.steps) {
    const tasks = await run.step(s.name).tasks();
    steps.push({ name: s.name, type: s.type, tasks: tasks.map((t) => ({ id: t.id, status: t.status, attempts: t.record.attempts, artifacts: t.record.artifacts, ...(t.record.clonedFrom ? { clonedFrom: t.record.clonedFrom } : {}) })) });
  }
  return { schema: 'flowrun.inspect/1', run: run.record, steps };
}

export function renderInspect(v: InspectView): string {
  const r = v.run;
  const out = [
    `${r.id}  ${displayValue(r.flow)}  ${listedStatus(r)}`,
    `  file      ${displayValue(r.file, PATH_DISPLAY_MAX)}`,
    `  started   ${r.started}   duration ${duration(r.durationMs)}`,
    `  params    ${Object.entries(r.params).map(([k, x]) => displayValue(`${k}=${JSON.stringify(x)}`)).join(' ') || '-'}`,
    `  seed      ${r.seed}   tags ${r.tags.map((t) => displayValue(t)).join(',') || '-'}   user ${displayValue(r.user ?? '-')}`,
    `  env       node ${r.node}, flowrun ${r.flowrunVersion}`,
  ];
  if (r.env?.lockfile) out.push(`  lockfile  ${r.env.lockfile.name} ${r.env.lockfile.hash.slice(0, 12)} (steps without @npm)`);
  for (const [step, e] of [...Object.entries(r.stepEnvs ?? {}), ...Object.entries(r.condaEnvs ?? {})]) {
    out.push(`  env lock  ${step}: ${e.kind} ${e.lock.slice(0, 12)}  ${Object.entries(e.spec.packages).map(([n, v]) => `${n}@${v}`).join(' ')}   (flow env ${r.id}/${step})`);
  }
  if (r.origin) out.push(`  resumed   from ${r.origin.run} at step ${r.origin.step}${r.origin.reused !== undefined ? ` (${r.origin.reused} task(s) reused)` : ''}`);
  if (r.replayOf) out.push(`  ${r.whatIf ? 'what-if' : 'replay '}   of ${r.replayOf}${r.whatIf ? ` with ${Object.entries(r.whatIf).map(([k, x]) => displayValue(`${k}=${JSON.stringify(x)}`)).join(' ')}` : r.verdict ? (r.verdict.reproduced ? ': reproduced' : ': did NOT reproduce') : ': not verified'}`);
  if (r.error) out.push(`  error     ${displayValue(r.error.task ?? '')}: ${displayValue(r.error.code)}: ${displayText(r.error.message)}`);
  out.push('', 'Steps');
  out.push(...table([['  STEP', 'TYPE', 'TASKS', 'OK', 'FAILED', 'ATTEMPTS'], ...v.steps.map((s) => [
    `  ${s.name}`, s.type, String(s.tasks.length), String(s.tasks.filter((t) => t.status === 'ok').length),
    String(s.tasks.filter((t) => t.status === 'failed').length), String(s.tasks.reduce((n, t) => n + t.attempts.length, 0)),
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
