import * as v from 'valibot';

/**
 * Building blocks of decorator option specs: each option is a valibot schema (its type, range
 * and allowed values) that also carries, as metadata, what messages need (the help line, and
 * the values people write for a oneOf option). The options type of a decorator is the schema's
 * output type (types.ts `OptionsOf`), and `flow check` validates through the schema (registry.ts).
 *
 * @example
 * options: { times: option.integer('extra attempts after the first (default 3)', { min: 0 }) }
 */

/** How an option's type is named in messages (`must be a number`, `Give 'x' a whole number`). */
export type OptionKind = 'number' | 'integer' | 'string' | 'boolean' | 'string[]' | 'record<string>';

// A type alias, not an interface: valibot's metadata must be a Record<string, unknown>.
export type OptionInfo = {
  kind: OptionKind;
  help: string;
  /** The allowed values of a oneOf option (the picklist's options). */
  oneOf?: readonly string[];
  /** Values people write for a oneOf option, mapped to the allowed one they mean (`float` → `number`). */
  aliases?: Readonly<Record<string, string>>;
};

type Info<S extends v.GenericSchema> = v.SchemaWithPipe<readonly [S, v.MetadataAction<v.InferOutput<S>, OptionInfo>]>;

function described<S extends v.GenericSchema>(schema: S, info: OptionInfo): Info<S> {
  return v.pipe(schema, v.metadata(info));
}

function numeric(kind: 'number' | 'integer', help: string, min = Number.NEGATIVE_INFINITY) {
  // The checks run in this order and stop at the first that fails (registry.ts parses with abortPipeEarly).
  const schema = kind === 'integer' ? v.pipe(v.number(), v.finite(), v.integer(), v.minValue(min)) : v.pipe(v.number(), v.finite(), v.minValue(min));
  return described(schema, { kind, help });
}

/** Optional options (the usual case); wrap one in `required()` when the decorator needs it. */
export const option = {
  number: (help: string, range: { min?: number } = {}) => v.exactOptional(numeric('number', help, range.min)),
  integer: (help: string, range: { min?: number } = {}) => v.exactOptional(numeric('integer', help, range.min)),
  string: (help: string) => v.exactOptional(described(v.string(), { kind: 'string', help })),
  boolean: (help: string) => v.exactOptional(described(v.boolean(), { kind: 'boolean', help })),
  strings: (help: string) => v.exactOptional(described(v.array(v.string()), { kind: 'string[]', help })),
  /** An object of strings (`{ name: 'value' }`), never an array. */
  stringRecord: (help: string) => v.exactOptional(stringRecord(help)),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T, help: string, aliases?: Readonly<Record<string, string>>) => v.exactOptional(described(v.picklist(values), { kind: 'string', help, oneOf: values, ...(aliases ? { aliases } : {}) })),
};

/** A required object-of-strings option. */
export function requiredStringRecord(help: string) {
  return stringRecord(help);
}

function stringRecord(help: string) {
  return described(
    // record() alone takes an array for an object of its indices.
    v.pipe(
      v.custom<object>((x) => typeof x === 'object' && x !== null && !Array.isArray(x)),
      v.record(v.string(), v.string()),
    ),
    { kind: 'record<string>', help },
  );
}

/** One option's schema as written in a spec (optional or required). */
export type OptionSchema = v.GenericSchema;

/** Whether the decorator can be written without this option. */
export function isOptional(schema: OptionSchema): boolean {
  return schema.type === 'exact_optional';
}

/** What messages need of an option, read from its schema's metadata. */
export function optionInfo(schema: OptionSchema): OptionInfo {
  const inner = isOptional(schema) ? (schema as v.ExactOptionalSchema<v.GenericSchema, undefined>).wrapped : schema;
  return v.getMetadata(inner as Info<v.GenericSchema>) as OptionInfo;
}
