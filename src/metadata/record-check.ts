import { StoreError } from '../errors/index.js';
import type { RunRecord, TaskRecord } from './records.js';
import { SHA256_HEX } from '../util/hash.js';
import { isUserName } from './user.js';

/**
 * Structural checks of records read from the store. A record that is valid JSON but not a
 * record (truncated to `{}`, hand-edited, or written by another program) must be a clear
 * STORE_CORRUPT_RECORD naming the file and field, never a TypeError deep in a reader or a run
 * that silently looks empty. A newer record schema is STORE_VERSION_UNSUPPORTED.
 */
export function checkRunRecord(value: unknown, path: string): RunRecord {
  const r = shape(value, path, 'flowrun.run/');
  field(path, 'id', typeof r.id === 'string' && /^run-\d+$/.test(r.id));
  field(path, 'flow', typeof r.flow === 'string');
  field(path, 'status', typeof r.status === 'string');
  field(path, 'params', isObject(r.params));
  field(path, 'steps', Array.isArray(r.steps) && r.steps.every((s) => isObject(s) && typeof s.name === 'string'));
  field(path, 'tags', Array.isArray(r.tags) && r.tags.every((t) => typeof t === 'string'));
  if (r.user !== undefined) field(path, 'user', isUserName(r.user));
  if (r.whatIf !== undefined) field(path, 'whatIf', isObject(r.whatIf));
  if (r.replayOf !== undefined) field(path, 'replayOf', typeof r.replayOf === 'string');
  if (r.origin !== undefined) field(path, 'origin', isObject(r.origin) && typeof r.origin.run === 'string' && (r.origin.reused === undefined || typeof r.origin.reused === 'number'));
  if (r.code !== undefined) field(path, 'code', isObject(r.code) && isHash(r.code.hash) && isHash(r.code.manifest));
  if (r.git !== undefined && r.git !== null) field(path, 'git', isObject(r.git) && (r.git.patch === undefined || isHash(r.git.patch)));
  if (r.includes !== undefined) field(path, 'includes', isObject(r.includes) && Object.values(r.includes).every((i) => isObject(i) && isHash(i.hash)));
  return r as unknown as RunRecord;
}

export function checkTaskRecord(value: unknown, path: string): TaskRecord {
  const t = shape(value, path, 'flowrun.task/');
  field(path, 'step', typeof t.step === 'string');
  field(path, 'id', typeof t.id === 'string');
  field(path, 'status', t.status === 'ok' || t.status === 'failed');
  field(path, 'parents', Array.isArray(t.parents));
  field(path, 'attempts', Array.isArray(t.attempts) && t.attempts.every((a) => isObject(a) && (a.logs === undefined || (isObject(a.logs) && isHash(a.logs.stdout) && isHash(a.logs.stderr)))));
  field(path, 'artifacts', isObject(t.artifacts) && Object.values(t.artifacts).every((a) => isObject(a) && isHash(a.hash) && typeof a.size === 'number'));
  field(path, 'logs', isObject(t.logs) && isHash(t.logs.stdout) && isHash(t.logs.stderr));
  return t as unknown as TaskRecord;
}

/**
 * How a finished run's summary disagrees with its task records (undefined when it agrees): the
 * scheduler counts a task only once its record is written, so a difference means records were
 * lost or added after the run.
 */
export function summaryMismatch(run: RunRecord, tasks: TaskRecord[]): string | undefined {
  if (!run.summary || run.status === 'running') return undefined;
  const found: Record<string, { tasks: number; ok: number; failed: number }> = {};
  for (const t of tasks) {
    const f = (found[t.step] ??= { tasks: 0, ok: 0, failed: 0 });
    f.tasks++;
    if (t.status === 'ok') f.ok++; else f.failed++;
  }
  for (const step of new Set([...Object.keys(run.summary), ...Object.keys(found)])) {
    const want = Object.hasOwn(run.summary, step) ? run.summary[step]! : { tasks: 0, ok: 0, failed: 0 };
    const got = found[step] ?? { tasks: 0, ok: 0, failed: 0 };
    if (want.tasks !== got.tasks || want.ok !== got.ok || want.failed !== got.failed) {
      return `The summary of ${run.id} says step ${step} had ${want.tasks} task(s) (${want.ok} ok, ${want.failed} failed), but its readable task records are ${got.tasks} (${got.ok} ok, ${got.failed} failed).`;
    }
  }
  return undefined;
}

type Obj = Record<string, unknown>;

function shape(value: unknown, path: string, schemaPrefix: string): Obj {
  if (!isObject(value)) throw corrupt(path, `is not a record (it holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  const schema = value.schema;
  if (typeof schema !== 'string' || !schema.startsWith(schemaPrefix)) throw corrupt(path, `has an unknown schema tag ${JSON.stringify(schema)} (expected ${schemaPrefix}1)`);
  const version = Number(schema.slice(schemaPrefix.length));
  if (!Number.isInteger(version) || version < 1) throw corrupt(path, `has an unknown schema tag ${JSON.stringify(schema)}`);
  if (version > 1) {
    throw new StoreError('STORE_VERSION_UNSUPPORTED', `Record ${path} was written by a newer flowrun (${schema}; this flowrun reads ${schemaPrefix}1).`, { file: path, fix: 'Upgrade flowrun (npm install flowrun@latest).' });
  }
  return value as Obj;
}

function field(path: string, name: string, ok: boolean): void {
  if (!ok) throw corrupt(path, `has a missing or malformed field "${name}"`);
}

function corrupt(path: string, what: string): StoreError {
  return new StoreError('STORE_CORRUPT_RECORD', `Record ${path} ${what}.`, { file: path, fix: 'Run flow fsck; restore the store from a copy (or flow pull), or rerun the run with flow resume.' });
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHash(v: unknown): boolean {
  return typeof v === 'string' && SHA256_HEX.test(v);
}
