import type { RunView } from '../diff/diff.js';
import type { ReplayVerdict } from '../metadata/records.js';
import { compareTaskIds } from '../metadata/task-ids.js';
import { own } from '../util/own.js';

export interface ArtifactCheck {
  task: string;
  artifact: string;
  status: 'reproduced' | 'diverged' | 'missing';
  expected: string;
  got?: string;
}

/**
 * Checks every artifact of every successful task of the original run against the replay,
 * in topological order, so the first divergence reported is where the runs parted (`only`:
 * the tasks to check, when the replay recomputed only some). Pure.
 */
export function verifyReplay(original: RunView, replay: RunView, only?: (task: string) => boolean): { checks: ArtifactCheck[]; verdict: ReplayVerdict } {
  const checks: ArtifactCheck[] = [];
  for (const { name: step } of original.record.steps) {
    const replayed = new Map((own(replay.tasks, step) ?? []).map((t) => [t.id, t]));
    const tasks = [...(own(original.tasks, step) ?? [])].filter((t) => t.status === 'ok' && (!only || only(`${step}/${t.id}`))).sort((a, b) => compareTaskIds(a.id, b.id));
    for (const t of tasks) {
      const r = replayed.get(t.id);
      for (const [artifact, ref] of Object.entries(t.artifacts).sort(([a], [b]) => a.localeCompare(b))) {
        const got = r?.status === 'ok' ? own(r.artifacts, artifact) : undefined;
        const status = !got ? 'missing' : got.hash === ref.hash ? 'reproduced' : 'diverged';
        checks.push({ task: `${step}/${t.id}`, artifact, status, expected: ref.hash, ...(got ? { got: got.hash } : {}) });
      }
    }
  }
  const count = (s: ArtifactCheck['status']) => checks.filter((c) => c.status === s).length;
  const first = checks.find((c) => c.status !== 'reproduced');
  const verdict: ReplayVerdict = {
    // Nothing compared proves nothing: a replay is reproduced only when some artifact matched and none differed.
    reproduced: first === undefined && checks.length > 0,
    artifacts: { reproduced: count('reproduced'), diverged: count('diverged'), missing: count('missing') },
  };
  if (first) verdict.firstDivergence = { step: first.task.split('/')[0]!, task: first.task, artifact: first.artifact, kind: first.status as 'diverged' | 'missing' };
  return { checks, verdict };
}
