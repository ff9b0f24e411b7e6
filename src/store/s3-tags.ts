import { type TagEntry, checkTagEntry, isTagEntryName, tagEntryPath, tagLogDir } from '../metadata/tags.js';
import { mapLimit } from '../util/map-limit.js';
import { forgedRecord, printable, RECORD_MAX_BYTES } from './remote-input.js';
import type { S3Store } from './s3.js';

/** More entries than anyone tags one run with: a log this long on a mirror is forged. */
const TAG_LOG_MAX_ENTRIES = 10_000;

/** Names in a run's tag log on the mirror (every one checked: a name that is not an entry's is forged). */
export async function remoteNames(remote: S3Store, run: string): Promise<string[]> {
  const prefix = remote.key(`${tagLogDir(run)}/`);
  const names: string[] = [];
  for await (const { key } of remote.listKeys(prefix)) {
    const name = key.slice(prefix.length);
    if (!isTagEntryName(name)) throw forgedRecord(`${remote.location}${tagLogDir(run)}/${printable(name)}`, 'a tag log entry is named <sha256 of its content>.json');
    names.push(name);
    if (names.length > TAG_LOG_MAX_ENTRIES) throw forgedRecord(`${remote.location}${tagLogDir(run)}/`, `it holds more than ${TAG_LOG_MAX_ENTRIES} entries`);
  }
  return names;
}

/** A run's whole tag log on the mirror, every entry checked. */
export async function remoteTagLog(remote: S3Store, run: string): Promise<TagEntry[]> {
  return readRemoteEntries(remote, run, await remoteNames(remote, run));
}

export async function readRemoteEntries(remote: S3Store, run: string, names: string[]): Promise<TagEntry[]> {
  const entries = await mapLimit(names, 8, async (name) => {
    const key = `${remote.location}${tagEntryPath(run, name)}`;
    const value = await remote.readJson(tagEntryPath(run, name), RECORD_MAX_BYTES);
    return value === undefined ? undefined : checkTagEntry(value, run, name, key, (what) => forgedRecord(key, what));
  });
  return entries.filter((e): e is TagEntry => e !== undefined);
}
