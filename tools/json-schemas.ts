/**
 * Build step (`npm run schemas`, and before every `npm pack`): writes schemas/<name>.schema.json,
 * the JSON Schema of each read command's --json output (and of the error object every command
 * prints with --json), from the valibot schemas in src/cli/json/outputs.ts. The files are
 * committed and shipped in the package; test/cli/json-schemas.test.ts fails when they are stale.
 *
 * Usage: node dist/tools/json-schemas.js
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJsonSchema } from '@valibot/to-json-schema';
import { JSON_OUTPUTS } from '../src/cli/json/outputs.js';
import { FlowErrorJson, RunRecord, TaskRecord } from '../src/cli/json/records.js';

/** Shared shapes, each written once under $defs and referenced where it appears. */
const DEFINITIONS = { RunRecord, TaskRecord, FlowError: FlowErrorJson };

type Json = ReturnType<typeof toJsonSchema>;

/** The schema with only the $defs it references (toJsonSchema writes all of DEFINITIONS into each). */
function withUsedDefs(json: Json): Json {
  const defs = json.$defs ?? {};
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    for (const m of JSON.stringify(node).matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) {
      if (!used.has(m[1]!)) {
        used.add(m[1]!);
        visit(defs[m[1]!]);
      }
    }
  };
  const { $defs: _all, ...root } = json;
  visit(root);
  return used.size === 0 ? root : { ...root, $defs: Object.fromEntries(Object.entries(defs).filter(([k]) => used.has(k))) };
}

/**
 * Without `additionalProperties: false`: within a schema version new fields may be added
 * (docs/json.md), so a consumer validating with a published file must not break on one. The
 * valibot schemas stay strict, so that the test finds a field the code adds without describing it.
 */
function openObjects<T>(node: T): T {
  if (Array.isArray(node)) return node.map(openObjects) as T;
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(node)) if (!(k === 'additionalProperties' && val === false)) out[k] = openObjects(val);
  return out as T;
}

/** File name → contents, for every published schema. */
export function jsonSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(JSON_OUTPUTS)) {
    // errorMode throw: a check JSON Schema cannot state must not vanish from the published file silently.
    const json = openObjects(withUsedDefs(toJsonSchema(schema, { target: 'draft-2020-12', errorMode: 'throw', definitions: DEFINITIONS })));
    // A topic command's id (cache:clear) is `flow cache clear`, its file cache-clear.schema.json.
    const title = name === 'error' ? 'flowrun: the error object any command prints with --json' : `flowrun: output of flow ${name.replaceAll(':', ' ')} --json`;
    files[`${name.replaceAll(':', '-')}.schema.json`] = `${JSON.stringify({ $schema: json.$schema, title, ...json }, null, 2)}\n`;
  }
  return files;
}

export function writeJsonSchemas(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const files = jsonSchemaFiles();
  // A schema whose output is gone must not stay behind in the package.
  for (const old of readdirSync(dir)) if (old.endsWith('.schema.json') && !(old in files)) rmSync(join(dir, old));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeJsonSchemas(join(fileURLToPath(import.meta.url), '..', '..', '..', 'schemas'));
}
