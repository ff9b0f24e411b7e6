import { DecoratorError, type ErrorLocation } from '../errors/index.js';
import { closest } from '../util/suggest.js';
import { DECORATOR_SPECS } from './specs.js';
import type { DecoratorSpec, Literal, OptionSpec } from './types.js';

const byName = new Map(DECORATOR_SPECS.map((s) => [s.name, s]));

export function decoratorSpec(name: string): DecoratorSpec | undefined {
  return byName.get(name);
}

export function decoratorNames(target: DecoratorSpec['target']): string[] {
  return DECORATOR_SPECS.filter((s) => s.target === target).map((s) => s.name);
}

/**
 * Validates a decorator's options against its spec. Pure; returns every problem found so
 * `flow check` can list them all. `where` names the file/line/step for the message.
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
  const errors: DecoratorError[] = [];
  const given = options as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    const optSpec = Object.hasOwn(spec.options, key) ? spec.options[key] : undefined;
    if (!optSpec) {
      const known = Object.keys(spec.options);
      const instead = spec.notOptions && Object.hasOwn(spec.notOptions, key) ? spec.notOptions[key] : undefined;
      const guess = closest(key, known);
      errors.push(
        new DecoratorError(`${at} has an unknown option '${key}'.`, {
          ...where,
          fix: instead ?? (guess ? `Did you mean '${guess}'? Known options: ${known.join(', ')}.` : `Known options: ${known.join(', ')}.`),
        }),
      );
      continue;
    }
    const problem = checkType(optSpec, value);
    if (problem) errors.push(new DecoratorError(`${at}: option '${key}' ${problem}.`, { ...where, fix: typeFix(key, optSpec, value) }));
  }
  for (const [key, optSpec] of Object.entries(spec.options)) {
    if (optSpec.required && !Object.hasOwn(given, key)) {
      errors.push(
        new DecoratorError(`${at} needs the option '${key}'.`, {
          ...where,
          fix: `Add ${key}: … (${optSpec.help}).`,
        }),
      );
    }
  }
  return errors;
}

/** The fix for an option of the wrong type or value: the allowed values when there is a list. */
function typeFix(key: string, spec: OptionSpec, value: unknown): string {
  if (spec.oneOf && typeof value === 'string') {
    const meant = spec.aliases && Object.hasOwn(spec.aliases, value.toLowerCase()) ? spec.aliases[value.toLowerCase()] : closest(value, spec.oneOf);
    return `${meant ? `Write ${key}: '${meant}'. ` : ''}'${key}' is one of ${spec.oneOf.map((v) => `'${v}'`).join(', ')} (${spec.help}).`;
  }
  return `Give '${key}' ${article(spec.type)} (${spec.help}).`;
}

function checkType(spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${describe(value)}`;
      if (spec.type === 'integer' && !Number.isInteger(value)) return `must be a whole number, got ${value}`;
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}, got ${value}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
      if (spec.oneOf && !spec.oneOf.includes(value)) return `must be one of ${spec.oneOf.join(', ')}, got ${JSON.stringify(value)}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${describe(value)}`;
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? undefined : `must be an array of strings, got ${describe(value)}`;
    case 'record<string>':
      return isPlainRecord(value) && Object.values(value).every((v) => typeof v === 'string') ? undefined : `must be an object of strings ({ name: 'value' }), got ${describe(value)}`;
  }
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function article(type: OptionSpec['type']): string {
  return { number: 'a number', integer: 'a whole number', string: 'a string', boolean: 'true or false', 'string[]': 'an array of strings', 'record<string>': 'an object of strings' }[type];
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export type { Literal };
