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
import { build, type Plugin } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/**
 * Node's built-in modules as the library's modules import them: through `require`, not as ES
 * modules. An `import ... from 'node:crypto'` makes Node build the module's ES facade, which reads
 * every export, getters included: `crypto.webcrypto`, `fs.ReadStream`, `util.parseArgs` and
 * `util.MIMEType` then load 6 more of Node's modules into every worker before its first task, on
 * the critical path of a run (issue #18; BENCHMARKS.md, "Interactive speed: where the time goes"). Each such import
 * resolves to a stand-in ES module that requires the built-in once and exports its functions and
 * values as they are when it loads (the library only reads them; a step patching the built-in
 * later changes its own imports, not these: primordials.ts's captures stay captures). Getters
 * are left out (reading one is what loads the extra modules): importing one is a build error
 * ("No matching export"), to be handled here. node:module stays an import (the stand-ins use it).
 */
const REQUIRED_BUILTIN = 'flowrun-required-builtin';

function requiredBuiltins(): Plugin {
  const names = new Set(builtinModules.filter((n) => !n.startsWith('_') && n !== 'module'));
  return {
    name: REQUIRED_BUILTIN,
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        if (!names.has(name) || args.namespace === REQUIRED_BUILTIN || args.kind === 'dynamic-import') return undefined;
        return { path: name, namespace: REQUIRED_BUILTIN };
      });
      b.onLoad({ filter: /.*/, namespace: REQUIRED_BUILTIN }, (args) => ({ contents: standIn(args.path), loader: 'js' }));
    },
  };
}

/** The stand-in of one built-in: its own value properties (no getters) as named exports, the module as the default. */
function standIn(name: string): string {
  const real = createRequire(import.meta.url)(`node:${name}`) as Record<string, unknown>;
  const keys = Object.keys(real)
    .filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k) && 'value' in (Object.getOwnPropertyDescriptor(real, k) ?? {}))
    .sort();
  return ["import { createRequire } from 'node:module';", `const m = createRequire(import.meta.url)(${JSON.stringify(`node:${name}`)});`, 'export default m;', ...keys.map((k) => `export const ${k} = m.${k};`)].join('\n');
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
    plugins: [requiredBuiltins()],
    // Less text to parse per process; names kept, so stack traces through flowrun stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(REPO, 'tsconfig.json'),
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildRuntime();
}
