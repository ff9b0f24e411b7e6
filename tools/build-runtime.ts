/**
 * Build step after tsc (`npm run build`): dist/bundle, the library as the processes that run
 * flows and read runs load it.
 *
 * One ES module build with shared chunks (esbuild splitting) of the package entry (what
 * `import ... from 'flowrun'` loads: package.json exports), the task worker the pool forks, and
 * the worker's module hooks. Loaded from dist/src they are ~50 ES modules, each resolved, read,
 * compiled and linked on its own: most of a worker's start-up before its first task and of a
 * script's `import 'flowrun'` (issue #18). Splitting keeps every module once: a flow's import
 * of 'flowrun' (the loader pins it to this entry) and the worker's own code share the FlowSpec
 * class, the decorator registry and the card collector, as they did from dist/src.
 *
 * Chunks sit next to the worker (task/): code that finds a file relative to its own module (the
 * module hooks beside the worker) finds it there, as in dist/src/task/. Packages stay imports
 * from node_modules, except valibot (BUNDLED_PACKAGES). dist/src is still built (types, the
 * CLI's ES modules, the Batch bundle).
 *
 * Usage: node dist/tools/build-runtime.js
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeBuiltins } from './runtime-builtins.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RUNTIME_DIR = join(REPO, 'dist', 'bundle');

/** Entry points, as paths under src/ (the same paths under dist/bundle, with .js). */
const ENTRIES = ['index.ts', 'task/worker.ts', 'task/env-hooks.ts'];

/**
 * Runtime dependencies compiled into the bundle: valibot, on the read path of every
 * `import 'flowrun'` (the record and config schemas). From node_modules it is a 200 KB module
 * compiled on every start (ES modules get no code cache on Node 20) plus a resolve through its
 * nested package exports; bundled, esbuild keeps the few functions the schemas use (issue #18).
 * It holds no state shared with user code, so a copy of its own is safe.
 */
const BUNDLED_PACKAGES = new Set(['valibot']);

/** Runtime dependencies left in node_modules, imported by the bundle when first used. */
function externalPackages(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {})
    .filter((name) => !BUNDLED_PACKAGES.has(name))
    .flatMap((name) => [name, `${name}/*`]);
}

export async function buildRuntime(): Promise<void> {
  rmSync(RUNTIME_DIR, { recursive: true, force: true });
  await build({
    entryPoints: ENTRIES.map((e) => ({ in: join(REPO, 'src', e), out: e.replace(/\.ts$/, '') })),
    outdir: RUNTIME_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'task/chunk-[hash]',
    external: externalPackages(),
    // Less text to parse per process; names kept, so stack traces through flowrun stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(REPO, 'tsconfig.json'),
    plugins: [{ name: 'flowrun-runtime-builtins', setup: (b) => runtimeBuiltins(b, REPO) }],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildRuntime();
}
