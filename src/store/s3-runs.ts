import { StoreError } from '../errors/index.js';
import { runRecordPath, type RunRecord, type TaskRecord } from '../metadata/records.js';
import { checkRunRecord, checkTaskRecord } from '../metadata/record-check.js';
import { forgedRecord, isPlainObject, isProjectPath, isRunId, isStepName, parseTaskRecordPath, printable, RECORD_MAX_BYTES } from './remote-input.js';
import type { S3Store } from './s3.js';
import { mapLimit } from '../util/map-limit.js';

/** A run as the mirror holds it, every piece checked against the key it was read from. */
export interface RemoteRun {
  run: RunRecord;
  claim: Record<string, unknown> | undefined;
  /** Task records by their path under `runs/<id>/tasks/` (`step/id.json`). */
  tasks: Record<string, TaskRecord>;
  /** Who names each task record, for messages: its loose key, or the bundle key and entry. */
  sources: Record<string, string>;
}

/** Receives a forged or corrupt piece: `flow pull` throws it, `flow fsck --remote` lists it and goes on. */
export type ProblemSink = (problem: StoreError) => void;
const throwIt: ProblemSink = (e) => {
  throw e;
};

/**
 * Reads run `id` from the mirror: its record, claim, record bundle and loose task records, each
 * bounded in size and checked against its key (names, ids, the run it claims to belong to).
 * With the default sink the first bad piece throws (STORE_CORRUPT_RECORD naming the key), before
 * anything is written anywhere; undefined when the run record is absent.
 */
export async function readRemoteRun(remote: S3Store, id: string): Promise<RemoteRun | undefined> {
  const contents = await auditRemoteRun(remote, id, throwIt);
  return contents.run ? { ...contents, run: contents.run } : undefined;
}

/**
 * readRemoteRun for `flow fsck --remote`: every bad piece goes to `problem` and the rest is still
 * read (a forged run record does not hide forged task records). `run` is null when the run
 * record is there but bad, undefined when it is absent.
 */
export async function auditRemoteRun(remote: S3Store, id: string, problem: ProblemSink): Promise<Omit<RemoteRun, 'run'> & { run: RunRecord | null | undefined }> {
  const at = (path: string) => `${remote.location}${path}`;
  const none = { run: undefined, claim: undefined, tasks: {}, sources: {} };
  if (!isRunId(id)) {
    problem(forgedRecord(at(`runs/${id}/`), 'it is not a run id (run-N)'));
    return none;
  }
  let present = false;
  const run = await guarded(problem, async () => {
    const value = await remote.readJson(runRecordPath(id), RECORD_MAX_BYTES);
    present = value !== undefined;
    return value === undefined ? undefined : checkRemoteRunRecord(value, at(runRecordPath(id)), id);
  });
  if (!run && !present) return none;
  const claim = await guarded(problem, async () => {
    const path = `runs/${id}/claim.json`;
    const value = await remote.readJson(path, RECORD_MAX_BYTES);
    if (value !== undefined && (!isPlainObject(value) || value.id !== id)) throw forgedRecord(at(path), `it is not the claim of ${id}`);
    return value as Record<string, unknown> | undefined;
  });
  const tasks: Record<string, TaskRecord> = {};
  const sources: Record<string, string> = {};
  const accept = (rel: string, value: unknown, source: string) => {
    const where = parseTaskRecordPath(rel);
    if (!where) throw forgedRecord(source, 'a task record must be named <step>/<task>.json, with a step name as in a flow and a task id of split indices');
    tasks[rel] = checkRemoteTaskRecord(value, source, id, where.step, where.id);
    sources[rel] = source;
  };
  await guarded(problem, async () => {
    const bundle = await remote.readBundle(id);
    const key = at(`runs/${id}/tasks.bundle.json`);
    for (const [rel, value] of Object.entries(bundle?.records ?? {})) await guarded(problem, async () => accept(rel, value, `${key} (entry "${printable(rel)}")`));
  });
  const prefix = remote.key(`runs/${id}/tasks/`);
  const loose: string[] = [];
  for await (const { key } of remote.listKeys(prefix)) loose.push(key.slice(prefix.length));
  await mapLimit(
    loose.filter((rel) => !Object.hasOwn(tasks, rel)),
    8,
    (rel) =>
      guarded(problem, async () => {
        const path = `runs/${id}/tasks/${rel}`;
        if (!parseTaskRecordPath(rel)) throw forgedRecord(at(path), 'a task record must be named <step>/<task>.json, with a step name as in a flow and a task id of split indices');
        const value = await remote.readJson(path, RECORD_MAX_BYTES);
        if (value !== undefined) accept(rel, value, at(path));
      }),
  );
  return { run: run ?? null, claim: claim ?? undefined, tasks, sources };
}

/** Runs `fn`; a StoreError goes to the sink (remote and other errors propagate). */
async function guarded<T>(problem: ProblemSink, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    problem(e);
    return undefined;
  }
}

/** A run record as flowrun writes it, for run `id`, naming only things that stay inside a project. */
export function checkRemoteRunRecord(value: unknown, key: string, id: string): RunRecord {
  const r = checkRunRecord(value, key);
  const bad = (what: string) => forgedRecord(key, what);
  if (r.id !== id) throw bad(`it is the record of ${printable(String(r.id))}, not of ${id}`);
  const names = new Set<string>();
  for (const s of r.steps) {
    if (!isStepName(s.name) || names.has(s.name)) throw bad(`step name ${JSON.stringify(printable(s.name))} is not a step name or is repeated`);
    names.add(s.name);
  }
  if (!isProjectPath(r.file)) throw bad(`its flow file ${JSON.stringify(printable(String(r.file)))} is not a path inside the project`);
  if (r.cwd !== undefined && !isProjectPath(r.cwd)) throw bad(`its task directory ${JSON.stringify(printable(String(r.cwd)))} is not a path inside the project`);
  for (const field of ['summary', 'envLocks', 'stepEnvs', 'condaEnvs'] as const) {
    const map = r[field];
    if (map !== undefined && (!isPlainObject(map) || Object.keys(map).some((k) => !names.has(k)))) throw bad(`its ${field} names a step the run does not have`);
  }
  if (r.origin !== undefined && (!isPlainObject(r.origin) || !isRunId(r.origin.run) || !isStepName(r.origin.step))) throw bad('its origin is not a run and step');
  if (r.replayOf !== undefined && !isRunId(r.replayOf)) throw bad('its replayOf is not a run id');
  return r;
}

/** A task record as flowrun writes it, for the run, step and task its key names. */
export function checkRemoteTaskRecord(value: unknown, key: string, run: string, step: string, id: string): TaskRecord {
  const t = checkTaskRecord(value, key);
  const bad = (what: string) => forgedRecord(key, what);
  if (t.run !== run) throw bad(`it is a record of ${printable(String(t.run))}, not of ${run}`);
  if (t.step !== step || t.id !== id) throw bad(`it is the record of ${printable(`${t.step}/${t.id}`)}, not of the ${step}/${id} its name says`);
  if (!t.parents.every((p) => typeof p === 'string' && parseTaskRecordPath(`${p}.json`))) throw bad('its parents are not <step>/<task> names');
  return t;
}
