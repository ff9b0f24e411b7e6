import { recordLocation, type SyncStore } from '../store/types.js';
import { type TagEntry, checkTagEntry, isTagEntryName, mergeTags, newTagEntry, tagEntryName, tagEntryPath, tagLogDir } from '../metadata/tags.js';

/** A run's tag log in a local store (entries whose names are not entry names are not flowrun's: skipped). */
export function readTagLog(store: SyncStore, run: string): TagEntry[] {
  const out: TagEntry[] = [];
  for (const name of store.listRecordsSync(tagLogDir(run))) {
    if (!isTagEntryName(name)) continue;
    const value = store.readRecordSync<unknown>(tagEntryPath(run, name));
    if (value !== undefined) out.push(checkTagEntry(value, run, name, recordLocation(store, tagEntryPath(run, name))));
  }
  return out;
}

export interface TagChange {
  run: string;
  /** The tags the run carries now. */
  tags: string[];
  /** Tags the command changed (an add of a tag the run has, or a remove of one it lacks, changes nothing). */
  changed: string[];
  /** The entry appended to the log, when something changed. */
  entry?: TagEntry;
}

/**
 * Adds or removes tags of a run by appending one entry to its tag log (the run record is never
 * rewritten). Only tags that change anything are logged.
 */
export function changeTags(store: SyncStore, run: string, recorded: readonly string[], op: TagEntry['op'], tags: string[], user: string): TagChange {
  const log = readTagLog(store, run);
  const current = mergeTags(recorded, log);
  const changed = [...new Set(tags)].filter((t) => (op === 'add' ? !current.includes(t) : current.includes(t)));
  // Entries apply in time order: a change made within the same millisecond as the last one still comes after it.
  const last = Math.max(0, ...log.map((e) => Date.parse(e.at)));
  const entry = newTagEntry(run, op, changed, user, new Date(Math.max(Date.now(), last + 1)));
  if (changed.length === 0) return { run, tags: current, changed };
  store.createRecordSync(tagEntryPath(run, tagEntryName(entry)), entry);
  return { run, tags: mergeTags(current, [entry]), changed, entry };
}
