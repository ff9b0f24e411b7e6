/**
 * The text of a CommonJS bundle bin/load-bundle.js loads with V8's code cache: the CLI's
 * (tools/build-cli.ts) and the library's (tools/build-runtime.ts).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/** The first line of a bundle, followed by the hash of the rest: bin/load-bundle.js keys its code cache by it. */
export const BUNDLE_HASH_PREFIX = '// flowrun-cli-bundle ';

/**
 * Writes esbuild's CommonJS output as bin/load-bundle.js loads it: ASCII, import() routed, the
 * hash line first; `prelude` (declarations the bundle's code uses) right after "use strict".
 */
export async function writeCachedBundle(path: string, text: string, prelude = ''): Promise<void> {
  const code = await routeDynamicImports(asciiOnly(text), prelude);
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
  writeFileSync(path, `${BUNDLE_HASH_PREFIX}${hash}\n${code}`);
}

/**
 * The bundle with every non-ASCII character written as a \\u escape (esbuild leaves a few raw,
 * in regular expressions). bin/load-bundle.js reads it as Latin-1, which for ASCII is the same
 * text at half the cost of decoding UTF-8, and V8 keeps a one-byte string instead of a two-byte
 * copy of the whole file. The escapes mean the same in strings, regular expressions and
 * identifiers; routeDynamicImports parses the result.
 */
function asciiOnly(code: string): string {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The wrapper parameter bin/load-bundle.js passes the bundle: its import() (see routeDynamicImports). */
const BUNDLE_IMPORT = '__flowrunBundleImport';
/** What every `import(...)` of the bundle calls instead. */
const ROUTED_IMPORT = '__flowrunImport';

/**
 * Every dynamic `import(...)` of the bundle (the ES modules it loads: ES_MODULE_SOURCES,
 * ES-module-only packages, file URLs) becomes a call of a function bin/load-bundle.js provides.
 * On Node 20, code compiled by vm.Script and then taken from V8's code cache loses the callback
 * that `import()` needs (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and Node's only way around it
 * prints an experimental-feature warning. Loaded by plain require(), the bundle uses its own import().
 * The expressions are found by parsing the output (oxc-parser), not by matching text.
 */
async function routeDynamicImports(code: string, prelude: string): Promise<string> {
  const { parseSync } = await import('oxc-parser');
  const parsed = parseSync('flow.cjs', code, { sourceType: 'script', lang: 'js' });
  if (parsed.errors.length) throw new Error(`build-cli: the bundle does not parse: ${parsed.errors[0]!.message}`);
  let out = '';
  let at = 0;
  for (const { start } of parsed.module.dynamicImports) {
    if (code.slice(start, start + 6) !== 'import') throw new Error(`build-cli: no import() at offset ${start} of the bundle`);
    out += `${code.slice(at, start)}${ROUTED_IMPORT}`;
    at = start + 6;
  }
  out += code.slice(at);
  const strict = '"use strict";';
  if (!out.startsWith(strict)) throw new Error('build-cli: the bundle does not start with "use strict"');
  const routed = `var ${ROUTED_IMPORT}=typeof ${BUNDLE_IMPORT}=="function"?${BUNDLE_IMPORT}:s=>import(s);`;
  return `${strict}${routed}${prelude}${out.slice(strict.length)}`;
}
