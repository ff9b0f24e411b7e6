import type { CodeRecord, GitRecord, ManifestEntry } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { displayValue } from '../util/terminal.js';

/**
 * `flow resume` reuses tasks the origin computed with its code: when today's code package is
 * not the origin's, the new run mixes two versions of the code, and a replay of it cannot
 * reproduce the reused tasks. Says so, naming the files that differ (read from the two
 * manifests; just "the code package" when one cannot be read).
 */
export function codeChangeWarning(store: SyncStore, origin: { run: string; code?: CodeRecord; commit?: string | null }, now: CodeRecord, git: GitRecord | null): string[] {
  if (!origin.code || origin.code.hash === now.hash) return [];
  const files = changedFiles(store, origin.code.manifest, now.manifest);
  const what =
    files === undefined
      ? 'the code package differs'
      : `${files.length} file(s) differ: ${files
          .slice(0, 5)
          .map((f) => displayValue(f))
          .join(', ')}${files.length > 5 ? ', …' : ''}`;
  const commits = `commit ${short(origin.commit)} then, ${short(git?.commit)}${git?.dirty ? ' + uncommitted changes' : ''} now`;
  return [`the code changed since ${origin.run} (${commits}; ${what}). The tasks reused from ${origin.run} ran its code, the rest run today's: the new run mixes both, and a replay of it will not reproduce the reused tasks. Run the flow afresh (flow run) for results of one version.`];
}

const short = (commit: string | null | undefined) => (commit ? commit.slice(0, 10) : 'none');

/** Paths added, removed or changed between two manifests, sorted; undefined when one is unreadable. */
function changedFiles(store: SyncStore, before: string, after: string): string[] | undefined {
  let a: ManifestEntry[];
  let b: ManifestEntry[];
  try {
    a = JSON.parse(store.getObjectSync(before).toString('utf8')) as ManifestEntry[];
    b = JSON.parse(store.getObjectSync(after).toString('utf8')) as ManifestEntry[];
  } catch {
    return undefined;
  }
  const old = new Map(a.map((e) => [e.path, e.sha256]));
  const out = new Set<string>();
  for (const e of b) if (old.get(e.path) !== e.sha256) out.add(e.path);
  const now = new Set(b.map((e) => e.path));
  for (const e of a) if (!now.has(e.path)) out.add(e.path);
  return [...out].sort();
}
