import * as v from 'valibot';
import { SHA256_HEX } from '../util/hash.js';
import { isUserName } from './user.js';

/*
 * What a reader checks of a run or task record read from the store or a mirror (record-check.ts
 * turns the first failure into STORE_CORRUPT_RECORD naming the field). Only the fields readers
 * rely on are checked, and no more strictly than before: a record an older flowrun wrote must
 * still read. The schema tag (and its version) is checked before these, by record-check.ts.
 */

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const Hash = v.pipe(v.string(), v.regex(SHA256_HEX));

/**
 * An object whose every own value matches `item`. Not v.record: that skips the keys
 * `__proto__`, `constructor` and `prototype`, which JSON.parse makes own keys like any other,
 * and a forged record must not hide a malformed entry behind one.
 */
function valuesOf<T extends v.GenericSchema>(item: T) {
  return v.custom<Record<string, v.InferOutput<T>>>((x) => isObject(x) && Object.values(x).every((e) => v.is(item, e)));
}

/** valibot's objects accept arrays; a record's objects never are. */
function obj<E extends v.ObjectEntries>(entries: E) {
  return v.pipe(v.custom<Record<string, unknown>>(isObject), v.looseObject(entries));
}

const Logs = obj({ stdout: Hash, stderr: Hash });

/** Entries in the order record-check.ts reported them before valibot: the first failure is the field named. */
export const RunRecordFields = v.looseObject({
  id: v.pipe(v.string(), v.regex(/^run-\d+$/)),
  flow: v.string(),
  status: v.string(),
  params: v.custom<Record<string, unknown>>(isObject),
  steps: v.array(obj({ name: v.string() })),
  tags: v.array(v.string()),
  user: v.optional(v.custom<string>(isUserName)),
  whatIf: v.optional(v.custom<Record<string, unknown>>(isObject)),
  replayOf: v.optional(v.string()),
  origin: v.optional(obj({ run: v.string(), reused: v.optional(v.number()) })),
  code: v.optional(obj({ hash: Hash, manifest: Hash })),
  git: v.nullish(obj({ patch: v.optional(Hash) })),
  includes: v.optional(valuesOf(obj({ hash: Hash }))),
});

export const TaskRecordFields = v.looseObject({
  step: v.string(),
  id: v.string(),
  status: v.picklist(['ok', 'failed']),
  parents: v.array(v.unknown()),
  attempts: v.array(obj({ logs: v.optional(Logs) })),
  artifacts: valuesOf(obj({ hash: Hash, size: v.number() })),
  logs: Logs,
});

/** The top-level field of the first problem, or undefined when `value` passes `schema`. */
export function firstBadField(schema: v.GenericSchema, value: unknown): string | undefined {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return undefined;
  const key = result.issues[0].path?.[0]?.key;
  return typeof key === 'string' ? key : '(record)';
}
