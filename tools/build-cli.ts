/**
 * Build step after tsc (`npm run build`): the CLI's start-up files.
 *
 * 1. dist/cli/flow.cjs: one file holding bin/run.js's entry, oclif's core, its dependencies and
 *    the thin commands of commands/ (exported as COMMANDS: package.json names it as oclif's
 *    "explicit" command discovery). Loading oclif as ~130 CommonJS files cost more than half of
 *    every command's start-up (issue #18). The library (dist/src) is not bundled: the commands
 *    import it lazily from dist/src, so each module exists once in a process and a command
 *    loads only what it uses. The bundle is CommonJS: Node 20 loads the same code as CommonJS
 *    about a quarter faster than as an ES module (no ES facades of Node's built-in modules, which
 *    read every export and so load fs streams and more), and its require()s stay lazy.
 * 2. oclif.manifest.json: the commands' flags, args and help, so oclif lists and parses commands
 *    without importing them.
 *
 * Usage: node dist/tools/build-cli.js
 */
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT_FILE = join(REPO, 'dist', 'cli', 'flow.cjs');
const MANIFEST = join(REPO, 'oclif.manifest.json');

/**
 * Library modules compiled into the bundle: what extends or drives oclif's classes, and
 * constants the commands' flag definitions use (schema.ts imports nothing). Any other library
 * module a command imports statically is a build error: it must be imported inside run().
 */
const BUNDLED_SOURCES = new Set(['src/cli/main.ts', 'src/cli/base.ts', 'src/cli/oclif.ts', 'src/config/schema.ts']);

/** Loaded by oclif only to run commands from TypeScript sources, which the CLI never does. */
const NEVER_LOADED = ['typescript', 'ts-node', 'tsx'];

/**
 * CommonJS packages oclif requires on every start but calls only in paths flowrun does not take
 * (tinyglobby: command discovery by file pattern, replaced by the explicit list). Each becomes a
 * stub whose functions load the real module on first call; esbuild evaluates a bundled CommonJS
 * module only when it is first required.
 */
const LOAD_ON_FIRST_CALL: Record<string, string[]> = { tinyglobby: ['glob', 'globSync'] };

/** Command ids from the files under commands/ (oclif's own rule: folders are topics, index names the topic). */
export function commandFiles(dir = join(REPO, 'commands')): Array<{ id: string; file: string }> {
  const found: Array<{ id: string; file: string }> = [];
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) { walk(rel); continue; }
      if (!/\.ts$/.test(name) || /\.(d|test|spec)\.ts$/.test(name)) continue;
      const parts = rel.slice(0, -3).split('/');
      if (parts.at(-1) === 'index') parts.pop();
      found.push({ id: parts.join(':'), file: join(dir, rel) });
    }
  };
  walk('');
  return found;
}

function entrySource(commands: Array<{ id: string; file: string }>): string {
  const lines = ["export { run } from './src/cli/main.ts';"];
  commands.forEach((c, i) => lines.push(`import C${i} from ${JSON.stringify(`./${relative(REPO, c.file).split(sep).join('/')}`)};`));
  lines.push(`export const COMMANDS = { ${commands.map((c, i) => `${JSON.stringify(c.id)}: C${i}`).join(', ')} };`);
  return lines.join('\n');
}

/**
 * Resolution rules of the bundle: `@oclif/core` is the subpath shim; a library module under src/
 * stays a separate file, imported from dist/src at run time (its path rewritten relative to the
 * bundle).
 */
const layout: EsbuildPlugin = {
  name: 'flowrun-cli-layout',
  setup(b) {
    b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: join(REPO, 'src', 'cli', 'oclif.ts') }));
    const lazy = new RegExp(`^(${Object.keys(LOAD_ON_FIRST_CALL).join('|')})$`);
    b.onResolve({ filter: lazy }, (args) => (args.namespace === 'on-first-call' ? undefined : { path: args.path, namespace: 'on-first-call' }));
    b.onLoad({ filter: /.*/, namespace: 'on-first-call' }, (args) => ({
      contents: LOAD_ON_FIRST_CALL[args.path]!.map((fn) => `exports.${fn} = (...a) => require(${JSON.stringify(args.path)}).${fn}(...a);`).join('\n'),
      resolveDir: REPO,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = resolve(args.resolveDir, args.path);
      const rel = relative(REPO, target).split(sep).join('/');
      if (!rel.startsWith('src/')) return undefined;
      const source = rel.replace(/\.js$/, '.ts');
      if (BUNDLED_SOURCES.has(source)) return { path: join(REPO, source) };
      if (args.kind !== 'dynamic-import') {
        return { errors: [{ text: `${relative(REPO, args.importer)} imports ${args.path} at start-up: import it inside run() with await import(...), so the CLI loads it only when a command needs it (tools/build-cli.ts)` }] };
      }
      const compiled = join(REPO, 'dist', rel.replace(/\.ts$/, '.js'));
      let path = relative(dirname(OUT_FILE), compiled).split(sep).join('/');
      if (!path.startsWith('.')) path = `./${path}`;
      return { path, external: true };
    });
  },
};

export async function buildCli(): Promise<void> {
  const commands = commandFiles();
  await build({
    stdin: { contents: entrySource(commands), resolveDir: REPO, sourcefile: 'cli-entry.ts', loader: 'ts' },
    outfile: OUT_FILE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NEVER_LOADED,
    plugins: [layout],
    // Half the bytes to parse on every start; names are kept (oclif reads constructor names).
    minify: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(REPO, 'tsconfig.json'),
  });
  await writeManifest();
}

/** oclif.manifest.json from oclif's own Plugin loader, reading the commands from the bundle just built. */
async function writeManifest(): Promise<void> {
  if (existsSync(MANIFEST)) rmSync(MANIFEST);
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root: REPO, isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  const ids = Object.keys(plugin.manifest.commands);
  const expected = commandFiles().map((c) => c.id);
  const missing = expected.filter((id) => !ids.includes(id));
  if (missing.length) throw new Error(`build-cli: oclif did not load the command(s) ${missing.join(', ')} from ${OUT_FILE}`);
  writeFileSync(MANIFEST, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli();
}
