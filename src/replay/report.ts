import type { ReplayVerdict } from '../metadata/records.js';
import type { ArtifactCheck } from './verify.js';

const MARK: Record<ArtifactCheck['status'], string> = { reproduced: '=', diverged: '≠', missing: '?' };

/**
 * The human report of a replay: one line per step with its reproduced / diverged / missing
 * counts, then every artifact that did not reproduce (all of them, never truncated: they are
 * the point of the report), or every artifact with `verbose`, then the verdict. Pure.
 */
export function renderReplayReport(o: { original: string; replay: string; checks: ArtifactCheck[]; verdict: ReplayVerdict; verbose: boolean; quiet?: boolean }): string[] {
  const out: string[] = [];
  if (!o.quiet) out.push(...stepTable(o.checks, o.verbose));
  const v = o.verdict;
  const total = v.artifacts.reproduced + v.artifacts.diverged + v.artifacts.missing;
  if (v.reproduced) {
    out.push(`${o.replay}: reproduced ${o.original} bit for bit: ${total} of ${total} artifacts match`);
  } else if (!v.firstDivergence) {
    out.push(`${o.replay}: NOT verified: ${o.original} has no artifacts of successful tasks to compare with, so the replay proves nothing`);
  } else {
    const f = v.firstDivergence!;
    out.push(`${o.replay}: did NOT reproduce ${o.original}: ${v.artifacts.diverged} diverged, ${v.artifacts.missing} missing, ${v.artifacts.reproduced} reproduced of ${total} artifacts`);
    out.push(`  first divergence: step ${f.step}, artifact ${f.artifact} (${f.task}, ${f.kind})`);
    if (f.clonedFrom) {
      const c = f.clonedFrom;
      const commit = c.commit === undefined ? 'its run is no longer in the store' : `commit ${c.commit?.slice(0, 10) ?? 'none'}${c.dirty ? ' + uncommitted changes' : ''}`;
      out.push(`  ${o.original} did not compute ${f.task}: flow resume reused it from ${c.task} (${commit}), which ran other code than ${o.original}'s package; replay ${c.task.split('/')[0]} to verify it`);
    }
    out.push(`  compare them: flow diff ${o.original} ${o.replay}`);
  }
  return out;
}

/** Per-step counts, then the artifacts that did not reproduce (or all of them when verbose). */
function stepTable(checks: ArtifactCheck[], verbose: boolean): string[] {
  const out: string[] = [];
  const steps = new Map<string, Record<ArtifactCheck['status'], number>>();
  for (const c of checks) {
    const step = c.task.split('/')[0]!;
    const counts = steps.get(step) ?? { reproduced: 0, diverged: 0, missing: 0 };
    counts[c.status]++;
    steps.set(step, counts);
  }
  const width = Math.max(4, ...[...steps.keys()].map((s) => s.length));
  out.push(`  ${'step'.padEnd(width)}  reproduced  diverged  missing`);
  for (const [step, n] of steps) {
    const total = n.reproduced + n.diverged + n.missing;
    out.push(`  ${step.padEnd(width)}  ${`${n.reproduced}/${total}`.padStart(10)}  ${String(n.diverged).padStart(8)}  ${String(n.missing).padStart(7)}`);
  }
  const listed = verbose ? checks : checks.filter((c) => c.status !== 'reproduced');
  if (listed.length) out.push('');
  for (const c of listed) {
    const detail = c.status === 'diverged' ? ` (expected ${c.expected.slice(0, 12)}, got ${c.got!.slice(0, 12)})` : c.status === 'missing' ? ' (not produced by the replay)' : '';
    out.push(`  ${MARK[c.status]} ${c.task} ${c.artifact}: ${c.status}${detail}`);
  }
  out.push('');
  return out;
}
