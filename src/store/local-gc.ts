import { type Dirent, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runRecordPath } from '../metadata/records.js';
import { type GcUnit, SHA256_HEX } from './types.js';

/**
 * gc's view of a local store directory (LocalStore's Collectable methods). Entries are lstat'ed
 * and symlinks skipped: a link planted in the store (a shard pointing at a home directory) must
 * not make gc list, or delete, files outside the store.
 */
export function* localGcUnits(root: string, symlinks: string[]): Iterable<GcUnit> {
  const dir = join(root, 'objects');
  for (const shard of realEntries(dir, symlinks)) {
    if (!shard.isDirectory()) continue;
    for (const file of realEntries(join(dir, shard.name), symlinks)) {
      const { name } = file;
      // Leftover temp files of interrupted writes are garbage too, once old enough.
      if (!file.isFile() || (!SHA256_HEX.test(name) && !name.startsWith('.tmp-'))) continue;
      const path = join(dir, shard.name, name);
      try {
        const st = lstatSync(path);
        yield { id: path, hashes: SHA256_HEX.test(name) ? [name] : [], size: st.size, modified: st.mtime };
      } catch {
        /* deleted meanwhile */
      }
    }
  }
  // Staging directories of pulls that were killed (a running pull's is younger than the grace period).
  for (const entry of realEntries(join(root, 'tmp'), symlinks)) {
    if (!entry.isDirectory() || !entry.name.startsWith('pull-')) continue;
    const path = join(root, 'tmp', entry.name);
    try {
      yield { id: path, hashes: [], size: 0, modified: lstatSync(path).mtime };
    } catch {
      /* gone */
    }
  }
}

export function deleteLocalRun(root: string, id: string): void {
  const dir = join(root, 'runs', id);
  // A run directory that is a symlink goes as a link: nothing is deleted through it.
  const link = lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink();
  // Otherwise the run record goes first: a run without it is invisible, never half-readable.
  if (!link) rmSync(join(root, runRecordPath(id)), { force: true });
  rmSync(dir, { recursive: true, force: true });
}

/** rm never follows symlinks (and localGcUnits yields none); a staging directory goes whole. */
export function deleteLocalUnit(unit: GcUnit): void {
  rmSync(unit.id, { force: true, recursive: true });
}

/** A directory's entries without following symlinks: each symlink is noted, never returned. */
function realEntries(dir: string, symlinks: string[]): Dirent[] {
  let entries: Dirent[];
  try {
    if (lstatSync(dir).isSymbolicLink()) {
      symlinks.push(dir);
      return [];
    }
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  for (const e of entries) if (e.isSymbolicLink()) symlinks.push(join(dir, e.name));
  return entries.filter((e) => !e.isSymbolicLink());
}
