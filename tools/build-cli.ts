/**
 * Build step after tsc (`npm run build`): the CLI's start-up files.
 *
 * 1. dist/cli/flow.cjs: one CommonJS file holding bin/run.js's entry, oclif's core and its
 *    dependencies, the thin commands of commands/ (exported as COMMANDS: package.json names it as
 *    oclif's "explicit" command discovery) and the library they use. Loading oclif as ~130 files,
 *    and the library as one ES module per source file (40 for `flow get`), was most of every
 *    command's start-up (issue #18). The library's modules are bundled lazily: a module a command
 *    imports with `await import(...)` is evaluated only when that line runs, so `flow --version`
 *    evaluates none of it and `flow get` only the store's read path. CommonJS, because Node 20
 *    loads it about a quarter faster than the same code as an ES module (no ES facades of Node's
 *    built-in modules) and because bin/run.js can then keep V8's compiled code of it between runs
 *    (Node 20 has no compile cache of its own). Runtime dependencies stay in node_modules and are
 *    loaded when a command first needs one (the AWS SDK, esbuild, isomorphic-git, oxc-parser, tar:
 *    test/cli/startup.test.ts checks that the read commands load none of them).
 *    What `import 'flowrun'` loads and the task workers run is another build (dist/bundle,
 *    tools/build-runtime.ts); the CLI process never imports a flow, so its own copy of the library
 *    shares no state with theirs. From tsc's dist/src it loads only the few modules that stay ES
 *    modules (ES_MODULE_SOURCES).
 * 2. dist/cli/flow-WORD.cjs, one per first word of the commands (`flow-inspect.cjs`, `flow-cache.cjs`
 *    for `cache verify` and `cache clear`): the same bundle with only that word's commands, and so only
 *    the library they import. bin/run.js loads it for a command line that starts with the word and
 *    lets oclif find it where package.json says the commands are. Loading, reading and evaluating the
 *    whole CLI for one command was most of what a read command cost over Node's own start-up
 *    (issue #18: `flow inspect` is a 0.42 MB bundle instead of 0.81 MB). Everything else (`--version`,
 *    help, typos) loads flow.cjs.
 * 3. oclif.manifest.json: the commands' flags, args and help, so oclif lists and parses commands
 *    without importing them.
 *
 * Usage: node dist/tools/build-cli.js (FLOW_BUILD_DEBUG=1: unminified, with esbuild's metafile
 * beside the bundle, for profiling)
 */
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCachedBundle } from './bundle-text.js';
import { lazyLibraryBuiltins } from './lazy-builtins.js';
import { trimOclif } from './oclif-trim.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT_DIR = join(REPO, 'dist', 'cli');
const OUT_FILE = join(OUT_DIR, 'flow.cjs');
const MANIFEST = join(REPO, 'oclif.manifest.json');

/**
 * Library modules evaluated when the bundle loads: what extends or drives oclif's classes, and
 * constants the commands' flag definitions use (schema.ts and run-query.ts import no code), and what stdout.ts writes (chunked.ts). Any other library
 * module a command imports statically is a build error: it must be imported inside run(), so
 * that it is evaluated only by the commands that use it.
 */
const EAGER_SOURCES = new Set(['src/cli/main.ts', 'src/cli/base.ts', 'src/cli/oclif.ts', 'src/cli/stdout.ts', 'src/util/chunked.ts', 'src/config/schema.ts', 'src/metadata/run-query.ts']);

/**
 * Library modules that stay ES modules in dist/src, imported from there at run time: they import
 * an ES-module-only package statically (a CommonJS bundle cannot `require` one on Node 20).
 */
const ES_MODULE_SOURCES = new Set(['src/graph/extract.ts', 'src/cache/closure.ts']);

/**
 * Runtime dependencies compiled into the bundle: oclif (and, through it, its own dependencies),
 * valibot, whose functions are tree-shaken to the few the record and config schemas use (its
 * whole ~100 KB module would be parsed on every start otherwise), and node-tar, which every
 * `flow run` uses to pack the code package: required from node_modules, its CommonJS build took
 * ~40 ms of CPU to load here, more than the rest of the run's own work; bundled from its ES build,
 * esbuild keeps the parts flowrun uses and the code cache holds them (issue #18).
 */
const BUNDLED_PACKAGES = new Set(['@oclif/core', 'minimatch', 'tar', 'valibot']);

/** Loaded by oclif only to run commands from TypeScript sources, which the CLI never does. */
const NEVER_LOADED = ['typescript', 'ts-node', 'tsx'];

const packageJson = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    type?: string;
    main?: string;
    exports?: unknown;
  };

/** Runtime dependencies left in node_modules, required or imported by the bundle when first used. */
function externalPackages(): string[] {
  return Object.keys(packageJson(REPO).dependencies ?? {}).filter((name) => !BUNDLED_PACKAGES.has(name));
}

/** A package `require` cannot load on Node 20: an ES module package with no CommonJS entry. */
function esModuleOnly(name: string): boolean {
  const pkg = packageJson(join(REPO, 'node_modules', name));
  if (pkg.type !== 'module') return false;
  const root = typeof pkg.exports === 'object' && pkg.exports !== null && '.' in pkg.exports ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  if (typeof root === 'object' && root !== null && 'require' in root) return false;
  return !(pkg.main ?? '').endsWith('.cjs');
}

/** Command ids from the files under commands/ (oclif's own rule: folders are topics, index names the topic). */
export function commandFiles(dir = join(REPO, 'commands')): Array<{ id: string; file: string }> {
  const found: Array<{ id: string; file: string }> = [];
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) {
        walk(rel);
        continue;
      }
      if (!/\.ts$/.test(name) || /\.(d|test|spec)\.ts$/.test(name)) continue;
      const parts = rel.slice(0, -3).split('/');
      if (parts.at(-1) === 'index') parts.pop();
      found.push({ id: parts.join(':'), file: join(dir, rel) });
    }
  };
  walk('');
  return found;
}

/**
 * oclif's `help` command, from @oclif/plugin-help, bundled as one of flowrun's commands. As a
 * plugin, oclif would locate and read the package (its package.json and manifest) on every start.
 */
const HELP_COMMAND = { id: 'help', file: join(REPO, 'node_modules', '@oclif', 'plugin-help', 'lib', 'commands', 'help.js') };

/** The bundle of the commands whose id starts with `word` (bin/run.js names it the same way). */
export const wordBundle = (word: string) => `flow-${word}.cjs`;

/** Commands by the first word of their id: the command lines each per-word bundle serves. */
export function commandsByWord(commands: Array<{ id: string; file: string }>): Map<string, Array<{ id: string; file: string }>> {
  const words = new Map<string, Array<{ id: string; file: string }>>();
  for (const c of commands) {
    const word = c.id.split(':')[0]!;
    words.set(word, [...(words.get(word) ?? []), c]);
  }
  return words;
}

/** Namespace of the bundles' entry modules, made here from the commands each bundle holds. */
const ENTRY_NAMESPACE = 'flowrun-cli-entry';

function entrySource(commands: Array<{ id: string; file: string }>): string {
  const lines = ["export { run } from './src/cli/main.ts';"];
  commands.forEach((c, i) => {
    lines.push(`import C${i} from ${JSON.stringify(`./${relative(REPO, c.file).split(sep).join('/')}`)};`);
  });
  lines.push(`export const COMMANDS = { ${commands.map((c, i) => `${JSON.stringify(c.id)}: C${i}`).join(', ')} };`);
  return lines.join('\n');
}

/** What `import.meta.url` of a bundled library module becomes: a constant each such module declares. */
const IMPORT_META_URL = '__flowrunImportMetaUrl';

/** A source file's path relative to the repository, with / separators. */
const repoPath = (abs: string) => relative(REPO, abs).split(sep).join('/');

/** `dist/src/...js` of a library source, as a path relative to the bundle's directory. */
function compiledFromBundle(source: string): string {
  const path = relative(dirname(OUT_FILE), join(REPO, 'dist', source.replace(/\.ts$/, '.js')))
    .split(sep)
    .join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/**
 * Resolution rules of the bundle: `@oclif/core` is the subpath shim; library modules are bundled
 * (lazily, behind the commands' dynamic imports) except ES_MODULE_SOURCES; runtime dependencies
 * stay external. In bundled library code `import.meta.url` is the URL of the module's compiled
 * twin under dist/src, so paths found relative to it (package.json, the worker script, vendored
 * files) are the same as from dist/src.
 */
function layout(externals: string[], entries: Map<string, Array<{ id: string; file: string }>>): EsbuildPlugin {
  const esOnly = new Set(externals.filter(esModuleOnly));
  const bare = new RegExp(`^(${externals.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(/.*)?$`);
  return {
    name: 'flowrun-cli-layout',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'entry-point' && entries.has(args.path) ? { path: args.path, namespace: ENTRY_NAMESPACE } : undefined));
      b.onLoad({ filter: /.*/, namespace: ENTRY_NAMESPACE }, (args) => ({ contents: entrySource(entries.get(args.path)!), resolveDir: REPO, loader: 'ts' }));
      b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: join(REPO, 'src', 'cli', 'oclif.ts') }));
      trimOclif(b, REPO);
      lazyLibraryBuiltins(b, REPO);
      b.onResolve({ filter: bare }, (args) => {
        const name = bare.exec(args.path)![1]!;
        if (esOnly.has(name) && args.kind !== 'dynamic-import') {
          return { errors: [{ text: `${repoPath(args.importer)} imports the ES-module-only package ${name} statically: import it with await import(...), or add the importer to ES_MODULE_SOURCES (tools/build-cli.ts)` }] };
        }
        return { path: args.path, external: true };
      });
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const rel = repoPath(resolve(args.resolveDir, args.path));
        if (!rel.startsWith('src/')) return undefined;
        const source = rel.replace(/\.js$/, '.ts');
        const importer = args.namespace === ENTRY_NAMESPACE ? 'cli-entry.ts' : repoPath(args.importer);
        const eagerImporter = importer.startsWith('commands/') || importer === 'cli-entry.ts' || EAGER_SOURCES.has(importer);
        if (ES_MODULE_SOURCES.has(source) || (eagerImporter && !EAGER_SOURCES.has(source))) {
          if (args.kind !== 'dynamic-import') {
            return { errors: [{ text: `${importer} imports ${args.path} statically: import it inside run() with await import(...), so that the CLI evaluates it only when a command needs it (tools/build-cli.ts)` }] };
          }
          if (ES_MODULE_SOURCES.has(source)) return { path: compiledFromBundle(source), external: true };
        }
        return { path: join(REPO, source) };
      });
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = repoPath(args.path);
        if (!source.startsWith('src/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        // esbuild binds the defined name to this module's own declaration (see `define` below).
        const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(compiledFromBundle(source))})).href`;
        return { contents: `const ${IMPORT_META_URL} = ${url};\n${text}`, loader: 'ts' };
      });
    },
  };
}

export async function buildCli(): Promise<void> {
  const commands = [...commandFiles(), HELP_COMMAND];
  // The entries, by output name: flow.cjs with every command, flow-WORD.cjs with one word's.
  const entries = new Map([['flow', commands]]);
  for (const [word, those] of commandsByWord(commandFiles())) entries.set(wordBundle(word).replace(/\.cjs$/, ''), those);
  const debug = Boolean(process.env.FLOW_BUILD_DEBUG);
  const result = await build({
    entryPoints: [...entries.keys()].map((name) => ({ in: name, out: name })),
    write: false,
    outdir: OUT_DIR,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NEVER_LOADED,
    plugins: [layout(externalPackages(), entries)],
    // Fewer bytes to parse on the first start. Function names are not kept: keepNames costs a
    // call per function and class at start-up, and nothing reads them (oclif names commands from
    // the manifest; flowrun's errors name themselves).
    minify: !debug,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: debug,
    // FLOWRUN_CLI_BUNDLE: src/util/primordials.ts captures crypto's methods on first use (no user code runs here).
    define: { 'import.meta.url': IMPORT_META_URL, FLOWRUN_CLI_BUNDLE: 'true' },
    tsconfig: join(REPO, 'tsconfig.json'),
  });
  // A new build replaces every bundle: none of a removed command may stay behind.
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  for (const out of result.outputFiles) await writeCachedBundle(out.path, out.text);
  // The metafile of a debug build is for profiling only: never left beside a release build (npm pack takes dist/cli).
  if (debug) writeFileSync(`${OUT_FILE}.meta.json`, JSON.stringify(result.metafile));
  await writeManifest();
}

/** oclif.manifest.json from oclif's own Plugin loader, reading the commands from the bundle just built. */
async function writeManifest(): Promise<void> {
  if (existsSync(MANIFEST)) rmSync(MANIFEST);
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root: REPO, isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  const ids = Object.keys(plugin.manifest.commands);
  const expected = [...commandFiles(), HELP_COMMAND].map((c) => c.id);
  const missing = expected.filter((id) => !ids.includes(id));
  if (missing.length) throw new Error(`build-cli: oclif did not load the command(s) ${missing.join(', ')} from ${OUT_FILE}`);
  writeFileSync(MANIFEST, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli();
}
