import { StoreError } from '../errors/index.js';
import type { RunRecord, TaskRecord } from './records.js';
import type { GenericSchema } from 'valibot';
import { firstBadField, RunRecordFields, TaskRecordFields } from './record-schema.js';

/**
 * Structural checks of records read from the store. A record that is valid JSON but not a
 * record (truncated to `{}`, hand-edited, or written by another program) must be a clear
 * STORE_CORRUPT_RECORD naming the file and field, never a TypeError deep in a reader or a run
 * that silently looks empty. A newer record schema is STORE_VERSION_UNSUPPORTED.
 */
export function checkRunRecord(value: unknown, path: string): RunRecord {
  return checked(shape(value, path, 'flowrun.run/'), path, RunRecordFields) as unknown as RunRecord;
}

export function checkTaskRecord(value: unknown, path: string): TaskRecord {
  return checked(shape(value, path, 'flowrun.task/'), path, TaskRecordFields) as unknown as TaskRecord;
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
    if (t.status === 'ok') f.ok++;
    else f.failed++;
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

/** The record itself (not valibot's copy of it) once its fields pass. */
function checked(record: Obj, path: string, fields: GenericSchema): Obj {
  const bad = firstBadField(fields, record);
  if (bad !== undefined) throw corrupt(path, `has a missing or malformed field "${bad}"`);
  return record;
}

function corrupt(path: string, what: string): StoreError {
  return new StoreError('STORE_CORRUPT_RECORD', `Record ${path} ${what}.`, { file: path, fix: 'Run flow fsck; restore the store from a copy (or flow pull), or rerun the run with flow resume.' });
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
