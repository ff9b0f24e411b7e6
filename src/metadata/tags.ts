import { StoreError, UsageError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import type { RunRecord } from './records.js';
import { isUserName } from './user.js';

/**
 * Tags after the fact. A run record is immutable once the run ended, so `flow tag add|remove`
 * appends an entry to the run's tag log instead: `runs/<run>/tags/<sha256 of the entry>.json`,
 * created once and never changed. Readers merge the log into the record's tags; entries from
 * several machines merge by union (push and pull copy the ones missing), applied in time order.
 */
export interface TagEntry {
  schema: 'flowrun.tag/1';
  run: string;
  op: 'add' | 'remove';
  tags: string[];
  /** When the entry was made (ISO 8601): entries apply in this order. */
  at: string;
  user: string;
}

export const tagLogDir = (run: string) => `runs/${run}/tags`;
export const tagEntryPath = (run: string, name: string) => `runs/${run}/tags/${name}`;
/** An entry's file name: the sha256 of its JSON, so the name verifies the content. */
export const tagEntryName = (e: TagEntry) => `${sha256(JSON.stringify(e))}.json`;
export const isTagEntryName = (name: string) => /^[0-9a-f]{64}\.json$/.test(name);

/** The longest tag `flow tag add` accepts (Metaflow's limit). */
const TAG_MAX = 500;

/** Why a tag cannot be added, or undefined. `user:` is the namespace of a user's runs, not a tag. */
export function badTag(tag: string): string | undefined {
  if (tag.length === 0 || tag.trim() !== tag) return 'a tag is a non-empty word without surrounding spaces';
  if (tag.length > TAG_MAX) return `a tag is at most ${TAG_MAX} characters`;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(tag)) return 'a tag holds no control characters';
  if (tag.startsWith('user:')) return '"user:" names a user\'s namespace (the run records its user already)';
  return undefined;
}

export function newTagEntry(run: string, op: TagEntry['op'], tags: string[], user: string, at = new Date()): TagEntry {
  if (op === 'add') {
    for (const t of tags) {
      const why = badTag(t);
      if (why) throw new UsageError('TAG_INVALID', `${JSON.stringify(t).slice(0, 80)} cannot be a tag: ${why}.`, { fix: 'Use a short printable word, e.g. flow tag add run-4 baseline.' });
    }
  }
  return { schema: 'flowrun.tag/1', run, op, tags: [...tags], at: at.toISOString(), user };
}

/**
 * A tag entry read from a store (local or a mirror), checked: its name must be the hash of its
 * content, and it must belong to the run whose log holds it. Anything else is refused, naming
 * where it was read.
 */
export function checkTagEntry(value: unknown, run: string, name: string, where: string, refuse?: (what: string) => StoreError): TagEntry {
  const bad =
    refuse ??
    ((what: string) =>
      new StoreError('STORE_CORRUPT_RECORD', `The tag log entry ${where} is refused: ${what}.`, {
        file: where,
        fix: 'Delete that entry file (the run keeps its other tags); flow fsck lists such entries.',
      }));
  const e = value as Partial<TagEntry> | null;
  if (typeof e !== 'object' || e === null || Array.isArray(e) || e.schema !== 'flowrun.tag/1') throw bad('it is not a tag entry (flowrun.tag/1)');
  if (e.run !== run) throw bad(`it belongs to ${String(e.run).slice(0, 40)}, not ${run}`);
  if (e.op !== 'add' && e.op !== 'remove') throw bad('its op is neither add nor remove');
  if (!Array.isArray(e.tags) || e.tags.length > 1000 || !e.tags.every((t) => typeof t === 'string' && t.length <= 4096)) throw bad('its tags are not a list of strings');
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at)) || !isUserName(e.user)) throw bad('its time or user is malformed');
  const entry: TagEntry = { schema: 'flowrun.tag/1', run: e.run, op: e.op, tags: e.tags, at: e.at, user: e.user };
  if (tagEntryName(entry) !== name) throw bad('its name is not the hash of its content');
  return entry;
}

/** The tags a run carries: the record's, then every entry of its log applied in time order. Pure. */
export function mergeTags(recorded: readonly string[], log: readonly TagEntry[]): string[] {
  const tags = [...recorded];
  const ordered = [...log].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : tagEntryName(a) < tagEntryName(b) ? -1 : 1));
  for (const e of ordered) {
    for (const t of e.tags) {
      const at = tags.indexOf(t);
      if (e.op === 'add' && at === -1) tags.push(t);
      if (e.op === 'remove' && at !== -1) tags.splice(at, 1);
    }
  }
  return tags;
}

/** The record as readers show it: its tags merged with the log. */
export function withTagLog(r: RunRecord, log: readonly TagEntry[]): RunRecord {
  return log.length === 0 ? r : { ...r, tags: mergeTags(r.tags, log) };
}
