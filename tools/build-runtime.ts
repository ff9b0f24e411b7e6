/**
 * Build step after tsc (`npm run build`): dist/bundle, the library as the processes that run
 * flows and read runs load it.
 *
 * - task/flowrun.cjs: one CommonJS bundle of the package entry (src/index.ts) and the task worker
 *   (src/task/worker-main.ts, evaluated only in a worker). bin/load-bundle.js loads it with V8's
 *   code cache, as it loads the CLI: ES modules get none on Node 20, so a worker compiled its
 *   ~170 KB of library on every start and a script's `import 'flowrun'` its ~100 KB, besides
 *   the functions each compiled on the way; with the cache most of that is read back instead
 *   (issue #18). Packages stay in node_modules (required when first used), except valibot
 *   (BUNDLED_PACKAGES).
 * - index.js: what `import ... from 'flowrun'` loads (package.json exports), an ES module that
 *   loads task/flowrun.cjs and re-exports the entry's names; index.cjs: what `require('flowrun')`
 *   loads, the same bundle. A process holds one copy of the bundle (load-bundle.js keeps it in
 *   require's cache), so a worker and the flows it imports share the FlowSpec class, the decorator
 *   registry and the card collector, and a script that both imports and requires flowrun gets one
 *   library (no dual-package hazard).
 * - task/worker.cjs: the worker the pool forks, which loads the bundle and starts the worker.
 * - task/env-hooks.js: the module hooks of @npm steps (an ES module: module.register loads it on
 *   its own thread), beside the bundle, where env-resolution.ts looks for it.
 *
 * dist/src is still built (types, the CLI's ES modules, the Batch bundle).
 *
 * Usage: node dist/tools/build-runtime.js
 */
import { build, type BuildOptions } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCachedBundle } from './bundle-text.js';
import { runtimeBuiltins } from './runtime-builtins.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RUNTIME_DIR = join(REPO, 'dist', 'bundle');
const BUNDLE = join(RUNTIME_DIR, 'task', 'flowrun.cjs');

/**
 * Runtime dependencies compiled into the bundle: valibot, on the read path of every
 * `import 'flowrun'` (the record and config schemas). From node_modules it is a 200 KB module
 * compiled on every start plus a resolve through its nested package exports; bundled, esbuild
 * keeps the few functions the schemas use (issue #18). It holds no state shared with user code,
 * so a copy of its own is safe.
 */
const BUNDLED_PACKAGES = new Set(['valibot']);

/** The worker's main in the bundle: a name the entry's own exports never use (index.js does not re-export it). */
const START_WORKER = '__flowrunStartWorker';

/** What `import.meta.url` of a library module becomes: the bundle's own URL (task/, where env-hooks.js is). */
const IMPORT_META_URL = '__flowrunImportMetaUrl';

/**
 * The bundle's entry. The worker's modules are behind an import(): esbuild then evaluates them
 * (and requires the built-ins only they use: child_process, inspector, v8...) when a worker
 * starts, not when a script imports flowrun.
 */
const ENTRY = `export * from './src/index.ts';
export const ${START_WORKER} = (options) => import('./src/task/worker-main.ts').then((m) => m.startWorker(options));
`;

/** Runtime dependencies left in node_modules, required by the bundle when first used. */
function externalPackages(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {})
    .filter((name) => !BUNDLED_PACKAGES.has(name))
    .flatMap((name) => [name, `${name}/*`]);
}

const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: externalPackages(),
  // Less text to parse per process; names kept, so stack traces through flowrun stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: join(REPO, 'tsconfig.json'),
  plugins: [{ name: 'flowrun-runtime-builtins', setup: (b) => runtimeBuiltins(b, REPO) }],
};

/** task/worker.cjs: the bundle from bin/load-bundle.js (its own code cache), then the worker. */
const WORKER = `'use strict';
// The task worker the pool forks (tools/build-runtime.ts): the library bundle, with V8's code cache
// of a worker's start-up and first task, written after that task.
const path = require('node:path');
const { loadBundle, saveCompiledCode } = require('../../../bin/load-bundle.js');
const bundle = path.join(__dirname, 'flowrun.cjs');
loadBundle(bundle, 'worker').${START_WORKER}({ saveCompiledCode: () => saveCompiledCode(bundle) });
`;

/** The line both entries load the library with: one bundle file, so one copy per process (`variant` names its code cache). */
const loadLibrary = (variant: string) => `const lib = require('../../bin/load-bundle.js').loadBundle(require.resolve('./task/flowrun.cjs'), '${variant}');`;

/** index.js: the bundle's entry names as an ES module (a flow's import in a worker gets the worker's copy). */
function entryModule(names: string[]): string {
  return `// \`import ... from "flowrun"\` (tools/build-runtime.ts): the library bundle, loaded once per process with its code cache.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${loadLibrary('import')}
export const { ${names.join(', ')} } = lib;
`;
}

/** index.cjs: the entry's names for a CommonJS script (which then loads no ES module). */
function requireModule(names: string[]): string {
  return `'use strict';
// \`require("flowrun")\` (tools/build-runtime.ts): the library bundle, loaded once per process with its code cache.
${loadLibrary('require')}
module.exports = { ${names.map((n) => `${n}: lib.${n}`).join(', ')} };
`;
}

export async function buildRuntime(): Promise<void> {
  rmSync(RUNTIME_DIR, { recursive: true, force: true });
  mkdirSync(join(RUNTIME_DIR, 'task'), { recursive: true });
  const lib = await build({
    ...COMMON,
    stdin: { contents: ENTRY, resolveDir: REPO, sourcefile: 'flowrun-runtime-entry.ts', loader: 'ts' },
    write: false,
    outfile: BUNDLE,
    format: 'cjs',
    define: { 'import.meta.url': IMPORT_META_URL },
  });
  await writeCachedBundle(BUNDLE, lib.outputFiles[0]!.text, `var ${IMPORT_META_URL}=require("node:url").pathToFileURL(__filename).href;`);
  writeFileSync(join(RUNTIME_DIR, 'task', 'worker.cjs'), WORKER);
  // The entry's names, as the bundle exports them (its top level only defines; nothing runs a step).
  const names = Object.keys(createRequire(import.meta.url)(BUNDLE) as object).filter((n) => n !== START_WORKER);
  writeFileSync(join(RUNTIME_DIR, 'index.js'), entryModule(names.sort()));
  writeFileSync(join(RUNTIME_DIR, 'index.cjs'), requireModule(names));
  await build({ ...COMMON, entryPoints: [join(REPO, 'src', 'task', 'env-hooks.ts')], outfile: join(RUNTIME_DIR, 'task', 'env-hooks.js'), format: 'esm' });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildRuntime();
}
