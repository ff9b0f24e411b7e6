import * as v from 'valibot';
import type { ConfigKeySpec } from './schema.js';

/*
 * The valibot schema of each .flowrc key (CONFIG_SCHEMA in schema.ts lists the keys, their help and
 * environment variables; that file stays free of imports because oclif's flag definitions load it
 * on every start). Each check's message is the problem config.ts reports after the key path, so a
 * .flowrc value and an environment variable get the same words.
 */

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function integer(spec: ConfigKeySpec): v.GenericSchema {
  const whole = 'must be a whole number';
  return v.pipe(v.number(whole), v.safeInteger(whole), v.minValue(spec.min ?? Number.MIN_SAFE_INTEGER, `must be at least ${spec.min}`), v.maxValue(spec.max ?? Number.MAX_SAFE_INTEGER, `must be at most ${spec.max}`));
}

function stringList(spec: ConfigKeySpec): v.GenericSchema {
  const list = 'must be a list of non-empty strings';
  return v.pipe(v.array(v.pipe(v.string(list), v.nonEmpty(list)), list), v.maxLength(spec.max ?? Number.MAX_SAFE_INTEGER, `must have at most ${spec.max} entries`));
}

function build(spec: ConfigKeySpec): v.GenericSchema {
  switch (spec.type) {
    case 'string':
      return v.pipe(v.string('must be a non-empty string'), v.nonEmpty('must be a non-empty string'));
    case 'string|null':
      return v.nullable(v.string('must be a string or null'));
    case 'boolean':
      return v.boolean('must be true or false');
    case 'integer':
      return integer(spec);
    case 'string[]':
      return stringList(spec);
    // Its keys are checked one by one (config.ts), so that an unknown one gets a "did you mean".
    case 'object':
      return v.custom<Record<string, unknown>>(isObject, 'must be an object');
  }
}

const built = new WeakMap<ConfigKeySpec, v.GenericSchema>();

/** The valibot schema of one key's value. */
export function valueSchema(spec: ConfigKeySpec): v.GenericSchema {
  let schema = built.get(spec);
  if (!schema) built.set(spec, (schema = build(spec)));
  return schema;
}

/** What is wrong with `value` for this key ("must be ..."), or undefined when it is valid. */
export function valueProblem(spec: ConfigKeySpec, value: unknown): string | undefined {
  const result = v.safeParse(valueSchema(spec), value, { abortEarly: true });
  return result.success ? undefined : result.issues[0].message;
}
