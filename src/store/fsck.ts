import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isFlowError, type StoreError } from '../errors/index.js';
import { checkTagEntry, isTagEntryName, tagEntryPath, tagLogDir } from '../metadata/tags.js';
import { runRecordPath, type RunRecord, type TaskRecord } from '../metadata/records.js';
import { checkRunRecord, checkTaskRecord, summaryMismatch } from '../metadata/record-check.js';
import type { S3Store } from './s3.js';
import { decodeArtifact } from '../serialize/decode.js';
import { RUN_INDEX_PATH, runIndexProblems } from './run-index.js';
import { isDiskStore, objectIdsInBytes, type Store } from './types.js';

export interface FsckProblem {
  code: string;
  /** The object id or record path concerned. */
  subject: string;
  message: string;
  /** Who references it (run/step/task artifact), when known. */
  referrers?: string[];
}

export interface FsckReport {
  schema: 'flowrun.fsck/1';
  store: string;
  objects: number;
  runs: number;
  tasks: number;
  problems: FsckProblem[];
  /** Harmless findings (temp files an interrupted write left behind); they do not fail fsck. */
  notes: FsckProblem[];
}

/** A run's records as fsck reads them: the run record (null when corrupt) and its readable task records. */
interface RunRecords {
  run: RunRecord | undefined | null;
  tasks: Array<{ who: string; record: TaskRecord }>;
  /** Task records present but unreadable (each already a problem). */
  unreadable: number;
}

/**
 * Verifies the whole store: every object against its hash, every run and task record's
 * syntax, every reference from a record to an object (artifacts, logs, large binary parts),
 * that every artifact decodes, and that each finished run's summary agrees with its task
 * records. On an S3 mirror (untrusted input), also every pack index and every record's name
 * and content against its key; objects are streamed, never inflated whole. Read-only.
 */
export async function fsck(store: Store): Promise<FsckReport> {
  const remote = isS3(store) ? store : undefined;
  const problems: FsckProblem[] = [];
  const notes: FsckProblem[] = [];
  const good = new Set<string>();
  let objects = 0;
  for await (const hash of store.listObjects()) {
    objects++;
    try {
      await (remote ? remote.verifyObject(hash) : store.getObject(hash));
      good.add(hash);
    } catch (e) {
      problems.push({ code: isFlowError(e) ? e.code : 'STORE_CORRUPT_OBJECT', subject: hash, message: (e as Error).message });
    }
  }
  for (const e of remote ? await remote.packIndexProblems() : []) problems.push(problemOf(e));
  const root = isDiskStore(store) ? store.root : undefined;
  for (const shard of root ? safeReaddir(join(root, 'objects')) : []) {
    for (const name of safeReaddir(join(root!, 'objects', shard))) {
      // A SIGKILL mid-write leaves one; the store is still consistent (DESIGN §5), so it is a note.
      if (name.startsWith('.tmp-')) notes.push({ code: 'STORE_LEFTOVER_TEMP', subject: `objects/${shard}/${name}`, message: 'A temp file left by an interrupted write (harmless; it can be deleted).' });
    }
  }
  const refs = new Map<string, string[]>();
  const artifacts = new Map<string, string[]>();
  const note = (map: Map<string, string[]>, hash: string, who: string) => {
    const l = map.get(hash) ?? [];
    if (l.length < 5) l.push(who);
    map.set(hash, l);
  };
  let runs = 0;
  let tasks = 0;
  const runRecords = new Map<string, RunRecord>();
  const { auditRemoteRun } = remote ? await import('./s3-runs.js') : { auditRemoteRun: undefined };
  for (const run of await store.listRecords('runs')) {
    const { run: rec, tasks: records, unreadable } = remote ? await remoteRun(remote, run, problems, auditRemoteRun!) : await localRun(store, run, problems);
    if (rec === null) continue;
    // A claim without a run record: an id taken by a run killed before it started, or not pushed yet.
    if (rec === undefined && remote) continue;
    if (rec) runRecords.set(run, rec);
    runs++;
    if (rec?.code) {
      note(refs, rec.code.hash, `${run} code package`);
      note(refs, rec.code.manifest, `${run} code manifest`);
    }
    if (rec?.git?.patch) note(refs, rec.git.patch, `${run} git patch`);
    for (const [name, inc] of Object.entries(rec?.includes ?? {})) note(refs, inc.hash, `${run} included file ${name}`);
    for (const [step, env] of [...Object.entries(rec?.stepEnvs ?? {}), ...Object.entries(rec?.condaEnvs ?? {})]) note(refs, env.lock, `${run} ${env.kind} lock of ${step}`);
    for (const { who, record: t } of records) {
      tasks++;
      for (const [name, ref] of Object.entries(t.artifacts ?? {})) {
        note(refs, ref.hash, `${who} ${name}`);
        note(artifacts, ref.hash, `${who} ${name}`);
      }
      if (t.logs) {
        note(refs, t.logs.stdout, `${who} stdout`);
        note(refs, t.logs.stderr, `${who} stderr`);
      }
      for (const a of t.attempts ?? [])
        if (a.logs) {
          note(refs, a.logs.stdout, `${who} attempt ${a.attempt} stdout`);
          note(refs, a.logs.stderr, `${who} attempt ${a.attempt} stderr`);
        }
    }
    await checkTagLog(store, run, problems);
    const mismatch =
      rec && unreadable === 0
        ? summaryMismatch(
            rec,
            records.map((r) => r.record),
          )
        : undefined;
    if (mismatch) problems.push({ code: 'STORE_SUMMARY_MISMATCH', subject: runRecordPath(run), message: mismatch });
  }
  for (const [hash, who] of artifacts) {
    if (!good.has(hash)) continue;
    try {
      const bytes = await store.getObject(hash);
      // Binary parts are named inside the artifact; read the good ones first (getBlob is sync).
      const parts = new Map<string, Buffer>();
      for (const h of objectIdsInBytes(bytes)) if (good.has(h) && !parts.has(h)) parts.set(h, await store.getObject(h));
      decodeArtifact(bytes, {
        hash,
        getBlob: (h) => {
          note(refs, h, `blob of ${who[0]}`);
          return parts.get(h) ?? Buffer.alloc(0);
        },
      });
    } catch (e) {
      if (isFlowError(e) && e.code !== 'STORE_MISSING_OBJECT') problems.push({ code: e.code, subject: hash, message: e.message, referrers: who });
    }
  }
  if (remote) {
    const { remoteRunIndexProblems } = await import('./s3-run-index.js');
    for (const e of await remoteRunIndexProblems(remote, runRecords)) problems.push(problemOf(e));
  }
  // The run index is a cache; an entry it would serve that disagrees with its record is a bug or damage.
  for (const p of runIndexProblems(store)) {
    problems.push({ code: 'STORE_INDEX_MISMATCH', subject: RUN_INDEX_PATH, message: `${p.message} The index is only a cache: delete it and the next flow runs rebuilds it.` });
  }
  const reported = new Set(problems.map((p) => p.subject));
  for (const [hash, who] of refs) {
    if (good.has(hash)) continue;
    if (reported.has(hash)) {
      problems.find((p) => p.subject === hash)!.referrers = who;
      continue;
    }
    problems.push({ code: 'STORE_MISSING_OBJECT', subject: hash, message: `Object ${hash} is referenced but missing.`, referrers: who });
  }
  return { schema: 'flowrun.fsck/1', store: store.location, objects, runs, tasks, problems, notes };
}

/** Every entry of a run's tag log (flow tag): named by its content's hash, belonging to the run. */
async function checkTagLog(store: Store, run: string, problems: FsckProblem[]): Promise<void> {
  for (const name of await store.listRecords(tagLogDir(run))) {
    const path = tagEntryPath(run, name);
    if (!isTagEntryName(name)) {
      problems.push({ code: 'STORE_CORRUPT_RECORD', subject: path, message: `${path} is not a tag log entry (they are named <sha256 of the entry>.json).` });
      continue;
    }
    await readChecked(store, path, problems, (v, where) => checkTagEntry(v, run, name, where));
  }
}

async function localRun(store: Store, run: string, problems: FsckProblem[]): Promise<RunRecords> {
  const rec = await readChecked(store, `runs/${run}/run.json`, problems, checkRunRecord);
  const tasks: RunRecords['tasks'] = [];
  let unreadable = 0;
  if (rec === null) return { run: rec, tasks, unreadable };
  for (const step of await store.listRecords(`runs/${run}/tasks`)) {
    for (const file of await store.listRecords(`runs/${run}/tasks/${step}`)) {
      if (!file.endsWith('.json')) continue;
      const t = await readChecked(store, `runs/${run}/tasks/${step}/${file}`, problems, checkTaskRecord);
      if (t) tasks.push({ who: `${run}/${step}/${file.slice(0, -5)}`, record: t });
      else if (t === null) unreadable++;
    }
  }
  return { run: rec, tasks, unreadable };
}

/** A mirror's run, every key and record checked against its name; each forged piece is a problem naming its key. */
async function remoteRun(remote: S3Store, run: string, problems: FsckProblem[], audit: typeof import('./s3-runs.js').auditRemoteRun): Promise<RunRecords> {
  const before = problems.length;
  const contents = await audit(remote, run, (e) => problems.push(problemOf(e)));
  return { run: contents.run, tasks: Object.entries(contents.tasks).map(([rel, record]) => ({ who: `${run}/${rel.slice(0, -5)}`, record })), unreadable: problems.length - before };
}

function problemOf(e: StoreError): FsckProblem {
  return { code: e.code, subject: e.location.file ?? '', message: e.message };
}

/** Duck-typed, so the local fsck never loads the AWS SDK. */
function isS3(store: Store): store is S3Store {
  return 'packIndexProblems' in store;
}
/** Reads and checks a record; a corrupt one is recorded as a problem and gives null. */
async function readChecked<T>(store: Store, path: string, problems: FsckProblem[], check: (v: unknown, path: string) => T): Promise<T | null | undefined> {
  try {
    const value = await store.readRecord<unknown>(path);
    return value === undefined ? undefined : check(value, `${store.location}/${path}`);
  } catch (e) {
    problems.push({ code: isFlowError(e) ? e.code : 'STORE_CORRUPT_RECORD', subject: path, message: (e as Error).message });
    return null;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
