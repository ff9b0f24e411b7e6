/**
 * How dist/bundle (tools/build-runtime.ts) imports Node's built-in modules: through `require`,
 * not as ES modules (issue #18). An ES import of a built-in (`import { readFileSync } from
 * 'node:fs'`) makes Node build an ES facade of it, which reads every export of the module once:
 * that runs its lazy getters, so node:fs loads its streams, node:crypto its WebCrypto and
 * node:util parseArgs and MIMEType, none of which flowrun uses. Measured in a fresh process
 * (the bundle's ten built-in imports, named as it names them, 41 runs, median CPU): 16.7 ms as ES
 * imports, 12.4 ms through createRequire.
 *
 * Each import of a built-in from the library's sources resolves to a stand-in ES module that
 * requires the built-in when it is evaluated (as early as the import was: the worker still has
 * every built-in before any step runs, src/util/primordials.ts still captures crypto at load) and
 * exports its properties as they are then; a property nothing imports is never read (the reads
 * are marked pure, so esbuild drops the unused ones). Like the facade, the values are those of
 * the moment of loading: a later assignment to the module object does not reach flowrun.
 *
 * node:zlib (DEFERRED) is loaded on the first call of one of its functions instead: only writing
 * to the store and the S3 transfers use it, and a script that reads runs then never loads it
 * (~1-5 ms of CPU, measured in-script, 41 interleaved runs). Its stand-in exports functions only
 * (importing anything else of it from the library is a build error, "No matching export", to be
 * handled here) and keeps a copy of the module's functions taken when it loads. A task worker
 * loads it before any step runs (src/util/deferred-builtins.ts, which the build replaces).
 */
import type { PluginBuild } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { relative, sep } from 'node:path';

const NAMESPACE = 'flowrun-builtin';
const REQUIRE_SHIM = 'flowrun-builtin-require';
const DEFERRED = ['zlib'];
const DEFERRED_LOADER = /[/\\]src[/\\]util[/\\]deferred-builtins\.ts$/;

// node:module stays an ES import: the stand-ins get `require` from it.
const BUILTINS = new Set(builtinModules.filter((n) => !n.startsWith('_') && n !== 'module'));

/** The stand-in's source: the built-in, required once, and each of its export names. */
export function builtinStandIn(name: string): string {
  const real = createRequire(import.meta.url)(`node:${name}`) as Record<string, unknown>;
  const lines = [`import { requireBuiltin } from ${JSON.stringify(REQUIRE_SHIM)};`, `const m = requireBuiltin(${JSON.stringify(`node:${name}`)});`, 'export default m;'];
  for (const key of Object.keys(real).sort()) {
    if (!/^[A-Za-z_$][\w$]*$/.test(key) || key === 'default') continue;
    lines.push(`export const ${key} = /* @__PURE__ */ (() => m.${key})();`);
  }
  return lines.join('\n');
}

/**
 * The stand-in of a built-in loaded on first use: one function per function-valued export, which
 * loads the module (keeping a copy of its functions as they are then) and calls the real one; a
 * class is one too (`new` of the stand-in returns the real instance; the library only calls `new`
 * on them). `__load` loads it now.
 */
export function deferredStandIn(name: string): string {
  const real = createRequire(import.meta.url)(`node:${name}`) as Record<string, unknown>;
  const lines = [`import { requireBuiltin } from ${JSON.stringify(REQUIRE_SHIM)};`, 'let real;', `export function __load() { return (real ??= { ...requireBuiltin(${JSON.stringify(`node:${name}`)}) }); }`];
  for (const key of Object.keys(real).sort()) {
    const d = Object.getOwnPropertyDescriptor(real, key);
    if (!d || !('value' in d) || typeof d.value !== 'function' || !/^[A-Za-z_$][\w$]*$/.test(key) || key === 'default') continue;
    lines.push(/^[A-Z]/.test(key) ? `export function ${key}(...a) { return new.target ? new (__load().${key})(...a) : __load().${key}(...a); }` : `export function ${key}(...a) { return __load().${key}(...a); }`);
  }
  return lines.join('\n');
}

/** The runtime build's src/util/deferred-builtins.ts: loads every deferred built-in now. */
function deferredLoader(): string {
  const imports = DEFERRED.map((name, i) => `import { __load as load${i} } from ${JSON.stringify(`node:${name}`)};`);
  return [...imports, `export function loadDeferredBuiltins() { ${DEFERRED.map((_, i) => `load${i}();`).join(' ')} }`].join('\n');
}

/** Registers the stand-ins on a build, for static imports from the library's sources (src/). */
export function runtimeBuiltins(b: PluginBuild, repo: string): void {
  b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
    const name = args.path.replace(/^node:/, '');
    if (!BUILTINS.has(name) || args.namespace === NAMESPACE || args.kind === 'dynamic-import') return undefined;
    if (!relative(repo, args.importer).split(sep).join('/').startsWith('src/')) return undefined;
    return { path: name, namespace: NAMESPACE };
  });
  b.onResolve({ filter: new RegExp(`^${REQUIRE_SHIM}$`) }, () => ({ path: REQUIRE_SHIM, namespace: NAMESPACE }));
  b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
    if (args.path === REQUIRE_SHIM) return { contents: `import { createRequire } from 'node:module';\nexport const requireBuiltin = createRequire(import.meta.url);`, loader: 'js' };
    return { contents: DEFERRED.includes(args.path) ? deferredStandIn(args.path) : builtinStandIn(args.path), loader: 'js' };
  });
  // Replaces the no-op of dist/src; its imports of node:zlib resolve to the stand-ins like any in src/.
  b.onLoad({ filter: DEFERRED_LOADER }, () => ({ contents: deferredLoader(), loader: 'js', resolveDir: repo }));
}
