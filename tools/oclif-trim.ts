/**
 * What tools/build-cli.ts changes in oclif as it bundles it, so that a command evaluates only the
 * parts of oclif it uses (issue #18). oclif stays the framework (parsing, help, topics, --json):
 * these are the same behaviours at a lower start-up cost, each checked against oclif's source at
 * build time where it depends on it.
 */
import type { PluginBuild } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * CommonJS packages oclif requires on every start but calls only in paths flowrun does not take
 * (tinyglobby: command discovery by file pattern, replaced by the explicit list). Each becomes a
 * stub whose functions load the real module on first call; esbuild evaluates a bundled CommonJS
 * module only when it is first required.
 */
const LOAD_ON_FIRST_CALL: Record<string, string[]> = { tinyglobby: ['glob', 'globSync'] };

/**
 * Packages replaced in the bundle by a module of the same behaviour that costs less to load.
 * `debug` (oclif's logger): prints only for namespaces named in $DEBUG, the one variable it reads
 * in Node; without it, its set-up (terminal detection, colour support, option parsing from the
 * environment) is skipped and every logger does nothing. With DEBUG set, the package itself is loaded.
 */
const STAND_INS: Record<string, string> = {
  debug: `const off = Object.assign(() => {}, { enabled: false, namespace: '' });
off.extend = () => off; off.log = () => {}; off.destroy = () => {};
const create = () => off;
Object.assign(create, { enable() {}, disable: () => '', enabled: () => false, names: [], skips: [], formatters: {} });
module.exports = process.env.DEBUG ? require("debug") : create;`,
  // oclif asks wsl-utils only whether this is WSL (and, on Windows, where PowerShell is): is-wsl
  // answers the first without wsl-utils' other modules (child_process, fs/promises, PowerShell).
  'wsl-utils': `export { default as isWsl } from "is-wsl";
export const powerShellPath = async (...a) => (await import("wsl-utils")).powerShellPath(...a);`,
};

/**
 * Node built-in modules that oclif requires on every start but uses only on paths most commands
 * do not take (child_process: the Windows shell; readline: flags read from stdin; perf_hooks:
 * OCLIF_PERFORMANCE timings). In oclif's modules each becomes an object that loads the built-in
 * on first use of one of its properties (oclif, compiled TypeScript, reads them only as
 * `module.property` when it calls them).
 */
const LAZY_BUILTINS = ['child_process', 'readline', 'perf_hooks'];

/**
 * node:fs/promises as oclif uses it (reading its package.json and manifest at start-up): the same
 * calls as promises of node:fs's synchronous ones, for files of a few KB. Loading node:fs/promises
 * (its FileHandle, streams and their dependencies) costs more than reading them. Any other
 * function comes from node:fs/promises, loaded then.
 */
const SYNC_FS_PROMISES = `const fs = require("node:fs");
const sync = { readFile: fs.readFileSync, stat: fs.statSync, access: fs.accessSync, readdir: fs.readdirSync };
let real;
module.exports = new Proxy({}, {
  get: (_, key) => Object.hasOwn(sync, key) ? async (...args) => sync[key](...args) : (real ??= require("node:fs/promises"))[key],
});`;

/**
 * oclif's modules require each other and their packages at the top (`const x_1 = require("./x")`),
 * so loading `Command` evaluates nearly all of oclif: help, its templates, spinners, terminal
 * width, colour support. In oclif's own files such a line becomes an object that requires the module
 * when one of its properties is first read (oclif, compiled TypeScript, reads them only as
 * `x_1.name`), so a command evaluates only the parts of oclif it uses.
 */
const LAZY_REQUIRE_PATTERN = /^(const|var) ([\w$]+) = (?:(__importDefault)\()?require\(("(?!node:)[^"]+")\)\)?;$/gm;
const LAZY_REQUIRE_HELPER = `exports.__lazyRequire = (load, withDefault) => {
  let real;
  const m = () => real ??= (withDefault ? ((x) => x && x.__esModule ? x : { default: x })(load()) : load());
  return new Proxy({}, {
    get: (_, key) => m()[key],
    set: (_, key, value) => { m()[key] = value; return true; },
    has: (_, key) => key in m(),
    ownKeys: () => Reflect.ownKeys(m()),
    getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(m(), key); return d && { ...d, configurable: true }; },
  });
};`;

/** What oclif's patched files require for the CLI's standard output: src/cli/stdout.ts, the module the commands use. */
const STDOUT_MODULE = 'flowrun-cli-stdout';

/**
 * Edits of oclif's own code, each found exactly once (the build fails after an oclif update that
 * moved it).
 * - plugin.js sorts a plugin's commands with localeCompare on every start: its first call creates
 *   ICU's collator, about 10 ms. Code-unit order serves as well there: nothing shows that list in
 *   its order (help sorts what it lists itself).
 * - ux/index.js makes its progress spinner (ux.action) when loaded, asking process.stderr whether
 *   it is a terminal: that creates Node's stderr stream (a socket when stderr is a pipe) in every
 *   command, also those that never write to stderr. The spinner is made when first used instead.
 * - command.js adds its EPIPE handler to process.stdout when loaded, and execute.js flushes
 *   process.stdout after every command: each makes Node's stdout stream, which the CLI's output
 *   does without (src/cli/stdout.ts). The handler is added when the stream is made, and a stream
 *   never made has nothing to flush.
 */
const OCLIF_PATCHES: Array<{ file: string; from: string; to: string }> = [
  { file: 'lib/config/plugin.js', from: '.sort((a, b) => a.id.localeCompare(b.id));', to: '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));' },
  {
    file: 'lib/ux/index.js',
    from: `const ACTION_TYPE = (Boolean(process.stderr.isTTY) &&
    !process.env.CI &&
    !['dumb', 'emacs-color'].includes(process.env.TERM) &&
    'spinner') ||
    'simple';
exports.action = ACTION_TYPE === 'spinner' ? new spinner_1.default() : new simple_1.default();
exports.ux = {
    action: exports.action,`,
    to: `let action;
const makeAction = () => (action ??= ((Boolean(process.stderr.isTTY) &&
    !process.env.CI &&
    !['dumb', 'emacs-color'].includes(process.env.TERM) &&
    'spinner') ||
    'simple') === 'spinner' ? new spinner_1.default() : new simple_1.default());
Object.defineProperty(exports, 'action', { enumerable: true, configurable: true, get: makeAction });
exports.ux = {
    get action() { return makeAction(); },`,
  },
  {
    file: 'lib/command.js',
    from: `process.stdout.on('error', (err) => {
    if (err && err.code === 'EPIPE')
        return;
    throw err;
});`,
    to: `require("${STDOUT_MODULE}").onStdoutStream((stdout) => stdout.on('error', (err) => {
    if (err && err.code === 'EPIPE')
        return;
    throw err;
}));`,
  },
  { file: 'lib/flush.js', from: 'async function _flush() {', to: `async function _flush() {\n    if (!require("${STDOUT_MODULE}").stdoutStreamMade()) return;` },
];

/**
 * oclif's files replaced whole, with what the original must still contain (else the build fails).
 * ux/write.js prints through Node's console: console.log(s) writes s and a newline to the stream,
 * ignoring write errors, but the console's first use also creates process.stderr (a socket when
 * stderr is a pipe) and its colour settings, in every command (~6 ms). This writes the same bytes
 * to stderr's stream itself, ignoring write errors as the console does, and to stdout through
 * src/cli/stdout.ts (without making Node's stdout stream where it can).
 */
const OCLIF_REPLACED: Record<string, { mustContain: string; contents: string }> = {
  'lib/ux/write.js': {
    mustContain: 'console.log((0, node_util_1.format)(str, ...args));',
    contents: `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
const node_util_1 = require("node:util");
const ignore = () => {};
function writeLine(stream, text) {
  stream.once("error", ignore);
  try { stream.write(text + "\\n"); } finally { stream.removeListener("error", ignore); }
}
const line = (str, args) => !str ? (0, node_util_1.format)(...args) : typeof str === "string" ? (0, node_util_1.format)(str, ...args) : (0, node_util_1.format)(...str, ...args);
exports.stdout = (str, ...args) => require("${STDOUT_MODULE}").writeStdout(line(str, args) + "\\n");
exports.stderr = (str, ...args) => writeLine(process.stderr, line(str, args));
`,
  },
};

function patchOclif(path: string, text: string): string {
  for (const [file, r] of Object.entries(OCLIF_REPLACED)) {
    if (!path.endsWith(`@oclif/core/${file}`)) continue;
    if (!text.includes(r.mustContain)) throw new Error(`build-cli: oclif's ${file} changed (no ${r.mustContain}): review OCLIF_REPLACED`);
    return r.contents;
  }
  for (const p of OCLIF_PATCHES) {
    if (!path.endsWith(`@oclif/core/${p.file}`)) continue;
    const at = text.indexOf(p.from);
    if (at < 0 || text.indexOf(p.from, at + 1) >= 0) throw new Error(`build-cli: oclif's ${p.file} no longer holds exactly one ${p.from}: review OCLIF_PATCHES`);
    text = text.replace(p.from, p.to);
  }
  return text;
}

/** A module standing for a built-in: the built-in is required when a property is first read. */
function lazyBuiltinSource(name: string): string {
  return `let real;
const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(load(), key); return d && { ...d, configurable: true }; },
});`;
}

/** Registers the handlers on the CLI bundle's build (`repo`: the repository, for paths in errors). */
export function trimOclif(b: PluginBuild, repo: string): void {
  const repoPath = (abs: string) => relative(repo, abs).split(sep).join('/');
  const lazy = new RegExp(`^(${Object.keys(LOAD_ON_FIRST_CALL).join('|')})$`);
  b.onResolve({ filter: lazy }, (args) => (args.namespace === 'on-first-call' ? undefined : { path: args.path, namespace: 'on-first-call' }));
  b.onLoad({ filter: /.*/, namespace: 'on-first-call' }, (args) => ({
    contents: LOAD_ON_FIRST_CALL[args.path]!.map((fn) => `exports.${fn} = (...a) => require(${JSON.stringify(args.path)}).${fn}(...a);`).join('\n'),
    resolveDir: repo,
    loader: 'js',
  }));
  const standIn = new RegExp(`^(${Object.keys(STAND_INS).join('|')})$`);
  b.onResolve({ filter: standIn }, (args) => (args.namespace === 'stand-in' ? undefined : { path: args.path, namespace: 'stand-in' }));
  b.onLoad({ filter: /.*/, namespace: 'stand-in' }, (args) => ({ contents: STAND_INS[args.path]!, resolveDir: repo, loader: 'js' }));
  const lazyBuiltin = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
  b.onResolve({ filter: lazyBuiltin }, (args) => {
    if (args.namespace === 'lazy-builtin' || !repoPath(args.importer).includes('node_modules/@oclif/')) return undefined;
    return { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' };
  });
  b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyBuiltinSource(args.path), loader: 'js' }));
  b.onResolve({ filter: /^(node:)?fs\/promises$/ }, (args) => (repoPath(args.importer).includes('node_modules/@oclif/core/') ? { path: 'fs-promises', namespace: 'sync-fs-promises' } : undefined));
  b.onLoad({ filter: /.*/, namespace: 'sync-fs-promises' }, () => ({ contents: SYNC_FS_PROMISES, loader: 'js' }));
  b.onResolve({ filter: new RegExp(`^${STDOUT_MODULE}$`) }, () => ({ path: join(repo, 'src', 'cli', 'stdout.ts') }));
  b.onResolve({ filter: /^flowrun-lazy-require$/ }, () => ({ path: 'lazy-require', namespace: 'lazy-require' }));
  b.onLoad({ filter: /.*/, namespace: 'lazy-require' }, () => ({ contents: LAZY_REQUIRE_HELPER, loader: 'js' }));
  b.onLoad({ filter: /[\\/]node_modules[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, (args) => {
    const original = readFileSync(args.path, 'utf8');
    const text = patchOclif(repoPath(args.path), original);
    const lazy = text.replace(LAZY_REQUIRE_PATTERN, (_, decl: string, name: string, wrap: string | undefined, spec: string) => `${decl} ${name} = __lazyRequire(() => require(${spec}), ${wrap === '__importDefault' ? 1 : 0});`);
    if (lazy === original) return undefined;
    return { contents: lazy === text ? text : `const { __lazyRequire } = require("flowrun-lazy-require");\n${lazy}`, loader: 'js' };
  });
}
