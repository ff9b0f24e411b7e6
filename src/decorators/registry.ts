import { DecoratorError, type ErrorLocation } from '../errors/index.js';
import { closest } from '../util/suggest.js';
import { DECORATOR_SPECS } from './specs.js';
import * as v from 'valibot';
import { isOptional, type OptionInfo, type OptionKind, optionInfo } from './option.js';
import type { DecoratorSpec, Literal, OptionSpecs } from './types.js';

const byName = new Map(DECORATOR_SPECS.map((s) => [s.name, s]));

export function decoratorSpec(name: string): DecoratorSpec | undefined {
  return byName.get(name);
}

export function decoratorNames(target: DecoratorSpec['target']): string[] {
  return DECORATOR_SPECS.filter((s) => s.target === target).map((s) => s.name);
}

/** Each spec's options object schema, built once from its option schemas. */
const schemas = new WeakMap<DecoratorSpec, v.ObjectSchema<OptionSpecs, undefined>>();

function schemaOf(spec: DecoratorSpec): v.ObjectSchema<OptionSpecs, undefined> {
  let schema = schemas.get(spec);
  if (!schema) schemas.set(spec, (schema = v.object(spec.options)));
  return schema;
}

/**
 * Validates a decorator's options against its spec's schema. Pure; returns every problem found
 * so `flow check` can list them all: each given option in the order written (an unknown name, or
 * the first check its value fails), then each required option left out. `where` names the
 * file/line/step for the message.
 */
export function validateDecoratorOptions(spec: DecoratorSpec, options: unknown, where: ErrorLocation): DecoratorError[] {
  const at = `@${spec.name}${where.param ? ` on parameter ${where.param}` : where.step ? ` on step ${where.step}` : ''}`;
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [
      new DecoratorError(`${at} takes an options object, got ${describe(options)}.`, {
        ...where,
        fix: `Write it as @${spec.name}({ ${Object.keys(spec.options).join(', ')} }).`,
      }),
    ];
  }
  const given = options as Record<string, unknown>;
  const firstIssue = new Map<string, v.BaseIssue<unknown>>();
  for (const issue of v.safeParse(schemaOf(spec), given, { abortPipeEarly: true }).issues ?? []) {
    const key = issue.path?.[0]?.key;
    if (typeof key === 'string' && !firstIssue.has(key)) firstIssue.set(key, issue);
  }
  const errors: DecoratorError[] = [];
  for (const [key, value] of Object.entries(given)) {
    const schema = Object.hasOwn(spec.options, key) ? spec.options[key] : undefined;
    if (!schema) {
      errors.push(unknownOption(spec, at, key, where));
      continue;
    }
    const issue = firstIssue.get(key);
    if (issue) {
      const info = optionInfo(schema);
      errors.push(new DecoratorError(`${at}: option '${key}' ${problem(info, issue, value)}.`, { ...where, fix: typeFix(key, info, value) }));
    }
  }
  for (const [key, schema] of Object.entries(spec.options)) {
    if (!isOptional(schema) && !Object.hasOwn(given, key)) {
      errors.push(
        new DecoratorError(`${at} needs the option '${key}'.`, {
          ...where,
          fix: `Add ${key}: … (${optionInfo(schema).help}).`,
        }),
      );
    }
  }
  return errors;
}

/** An option the spec does not have: what to write instead when people reach for it, else the closest name. */
function unknownOption(spec: DecoratorSpec, at: string, key: string, where: ErrorLocation): DecoratorError {
  const known = Object.keys(spec.options);
  const instead = spec.notOptions && Object.hasOwn(spec.notOptions, key) ? spec.notOptions[key] : undefined;
  const guess = closest(key, known);
  return new DecoratorError(`${at} has an unknown option '${key}'.`, {
    ...where,
    fix: instead ?? (guess ? `Did you mean '${guess}'? Known options: ${known.join(', ')}.` : `Known options: ${known.join(', ')}.`),
  });
}

/**
 * What is wrong with an option's value, from the check of its schema that failed: a range or
 * value check names its requirement; any type check (at any depth, e.g. one entry of a record)
 * names the option's type and describes the whole value as written.
 */
function problem(info: OptionInfo, issue: v.BaseIssue<unknown>, value: unknown): string {
  if (issue.type === 'integer') return `must be a whole number, got ${String(value)}`;
  if (issue.type === 'min_value') return `must be at least ${String(issue.requirement)}, got ${String(value)}`;
  if (issue.type === 'picklist' && info.oneOf && typeof value === 'string') return `must be one of ${info.oneOf.join(', ')}, got ${JSON.stringify(value)}`;
  // Any other value check of a schema (maxValue, regex, ...) says what it expects.
  if (issue.kind === 'validation' && issue.type !== 'finite' && issue.expected) return `must be ${issue.expected}, got ${describe(value)}`;
  return `${TYPE_PROBLEM[info.kind]}, got ${describe(value)}`;
}

const TYPE_PROBLEM: Record<OptionKind, string> = {
  number: 'must be a number',
  integer: 'must be a number',
  string: 'must be a string',
  boolean: 'must be true or false',
  'string[]': 'must be an array of strings',
  'record<string>': "must be an object of strings ({ name: 'value' })",
};

/** The fix for an option of the wrong type or value: the allowed values when there is a list. */
function typeFix(key: string, info: OptionInfo, value: unknown): string {
  if (info.oneOf && typeof value === 'string') {
    const meant = info.aliases && Object.hasOwn(info.aliases, value.toLowerCase()) ? info.aliases[value.toLowerCase()] : closest(value, info.oneOf);
    return `${meant ? `Write ${key}: '${meant}'. ` : ''}'${key}' is one of ${info.oneOf.map((o) => `'${o}'`).join(', ')} (${info.help}).`;
  }
  return `Give '${key}' ${ARTICLE[info.kind]} (${info.help}).`;
}

const ARTICLE: Record<OptionKind, string> = { number: 'a number', integer: 'a whole number', string: 'a string', boolean: 'true or false', 'string[]': 'an array of strings', 'record<string>': 'an object of strings' };

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export type { Literal };
