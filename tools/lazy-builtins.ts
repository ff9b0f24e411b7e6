/**
 * Node built-in modules that the library imports at the top of a module but that the read
 * commands never call (issue #18): node:crypto, node:zlib, node:stream, node:stream/promises and
 * node:fs/promises are needed to write objects, stream files and run git, while `flow get` and
 * `flow inspect` only open the store (src/store/local.ts imports all five). Requiring them costs
 * ~20 more of Node's internal modules to compile (fs/promises alone brings readline, fs.Dir and the
 * watchers) and the garbage they leave. In the CLI bundle (tools/build-cli.ts) each import of one
 * of them from a library module resolves to a stand-in ES module whose exports are functions that
 * require the built-in on their first call and then call it; esbuild drops the ones nothing imports.
 *
 * Only functions are stood in for (a class is one too: `new` of the stand-in returns the real
 * instance, but a subclass of the stand-in, its statics and `instanceof` are not the real class's:
 * the library only calls `new` on them); importing anything else of these modules from the library is a build error
 * ("No matching export"), to be handled here. The CLI process runs no user code, so the built-in
 * can be required late; dist/bundle (workers, `import 'flowrun'`) keeps the plain imports, which
 * bind the functions before any step runs.
 */
import type { PluginBuild } from 'esbuild';
import { createRequire } from 'node:module';
import { relative, sep } from 'node:path';

export const LAZY_LIBRARY_BUILTINS = ['crypto', 'zlib', 'stream', 'stream/promises', 'fs/promises'];

const NAMESPACE = 'flowrun-lazy-builtin';

/** The stand-in's source: one exported function per function-valued export of the built-in. */
export function lazyBuiltinModule(name: string): string {
  const real = createRequire(import.meta.url)(`node:${name}`) as Record<string, unknown>;
  const lines = [`let real;`, `const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));`];
  for (const key of Object.keys(real).sort()) {
    const d = Object.getOwnPropertyDescriptor(real, key);
    // Getters (fs/promises.constants, ...) are left out: reading one at build time would not say what it holds at run time.
    if (!d || !('value' in d) || typeof d.value !== 'function' || !/^[A-Za-z_$][\w$]*$/.test(key) || key === 'default') continue;
    const isClass = /^[A-Z]/.test(key);
    lines.push(isClass ? `export function ${key}(...a) { return new.target ? new (load().${key})(...a) : load().${key}(...a); }` : `export function ${key}(...a) { return load().${key}(...a); }`);
  }
  return lines.join('\n');
}

/** Registers the stand-ins on the CLI bundle's build, for imports from the library's sources (src/). */
export function lazyLibraryBuiltins(b: PluginBuild, repo: string): void {
  const filter = new RegExp(`^(node:)?(${LAZY_LIBRARY_BUILTINS.map((n) => n.replace('/', '\\/')).join('|')})$`);
  b.onResolve({ filter }, (args) => {
    if (args.namespace === NAMESPACE || args.kind === 'dynamic-import') return undefined;
    if (!relative(repo, args.importer).split(sep).join('/').startsWith('src/')) return undefined;
    return { path: args.path.replace(/^node:/, ''), namespace: NAMESPACE };
  });
  b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({ contents: lazyBuiltinModule(args.path), loader: 'js' }));
}
