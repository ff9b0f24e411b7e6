import { Run, listRuns, openProjectStore } from '../client/client.js';
import { type TagChange, changeTags } from '../client/tags.js';
import { loadConfig } from '../config/config.js';
import { UsageError } from '../errors/index.js';
import { currentUser } from '../metadata/user.js';
import { autoPushEnabled, mirrorLocation, openMirror } from '../mirror/mirror.js';
import { table } from '../errors/format.js';
import { displayValue } from '../util/terminal.js';

export type TagAction = 'add' | 'remove' | 'list';

export interface TagOutcome {
  schema: 'flowrun.tag/1';
  run?: string;
  tags?: string[];
  changed?: string[];
  /** `flow tag list` without a run: every tag in the store and how many runs carry it. */
  all?: Array<{ tag: string; runs: number }>;
  lines: string[];
}

/**
 * `flow tag add|remove|list`: tags change through the run's append-only tag log (the run record
 * is never rewritten); with a mirror that pushes automatically, the new entry is pushed at once.
 */
export async function tagCommand(action: TagAction, run: string | undefined, tags: string[], warn: (l: string) => void): Promise<TagOutcome> {
  const config = loadConfig(process.cwd());
  const store = openProjectStore(config);
  if (action === 'list' && run === undefined) {
    const counts = new Map<string, number>();
    for (const r of await listRuns(store)) for (const t of r.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    const all = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([tag, runs]) => ({ tag, runs }));
    const lines = all.length ? table([['TAG', 'RUNS'], ...all.map((t) => [t.tag, String(t.runs)])]) : ['No run carries a tag.'];
    return { schema: 'flowrun.tag/1', all, lines };
  }
  if (run === undefined) throw new UsageError('TAG_USAGE', `flow tag ${action} needs a run and at least one tag.`, { fix: `flow tag ${action} run-4 baseline` });
  const target = await Run.open(store, run);
  if (action === 'list') return { schema: 'flowrun.tag/1', run: target.id, tags: [...target.tags], lines: target.tags.length ? target.tags.map((t) => displayValue(t)) : [`${target.id} has no tags.`] };
  if (tags.length === 0) throw new UsageError('TAG_USAGE', `flow tag ${action} ${target.id} needs at least one tag.`, { fix: `flow tag ${action} ${target.id} baseline` });
  // The log holds changes only: merge from the record as written, not the already-merged view.
  const recorded = store.readRecordSync<{ tags: string[] }>(`runs/${target.id}/run.json`)?.tags ?? [];
  const change = changeTags(store, target.id, recorded, action, tags, currentUser());
  if (change.entry && autoPushEnabled(config)) await pushEntry(config, store, target.id, warn);
  return { schema: 'flowrun.tag/1', run: target.id, tags: change.tags, changed: change.changed, lines: [summary(action, change)] };
}

function summary(action: 'add' | 'remove', c: TagChange): string {
  const shown = (ts: string[]) => ts.map((t) => displayValue(t, 60)).join(', ');
  const verb = action === 'add' ? 'added' : 'removed';
  const head = c.changed.length ? `${c.run}: ${verb} ${shown(c.changed)}` : `${c.run}: nothing to do (${action === 'add' ? 'it has every tag already' : 'it has none of them'})`;
  return `${head}; tags now: ${shown(c.tags) || '(none)'}`;
}

async function pushEntry(config: ReturnType<typeof loadConfig>, store: ReturnType<typeof openProjectStore>, run: string, warn: (l: string) => void): Promise<void> {
  const loc = mirrorLocation(config)!;
  try {
    const { pushTagLog, reindexTags } = await import('../mirror/tags.js');
    const remote = await openMirror(loc);
    if (await pushTagLog(store, remote, run)) await reindexTags(remote, run);
  } catch (e) {
    warn(`warning: the tag change is stored locally, but pushing it to the mirror failed: ${(e as Error).message} \`flow push ${run}\` retries.`);
  }
}
