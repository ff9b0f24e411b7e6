// Loads a CommonJS bundle of flowrun's with V8's compiled code of it kept between runs: the CLI's
// (dist/cli/flow.cjs and its per-command files) and the library's as scripts and task workers
// load it (dist/bundle/task/flowrun.cjs, tools/build-runtime.ts).
//
// Compiling the bundle's ~700 KB of JavaScript was the largest single cost of every command's
// start-up (issue #18). Node >= 22.1 keeps compiled code on disk itself (module.enableCompileCache);
// on Node 20 this does the same for the one file that matters, with V8's code cache
// (vm.Script cachedData): the first run of a build writes it, later runs skip most compiling.
//
// The cache is a file per bundle build, command, Node version and architecture under
// $FLOW_CACHE_DIR/v8 (default $XDG_CACHE_HOME/flowrun or ~/.cache/flowrun), private to the user
// (a file someone else owns is not loaded). V8 itself refuses data made by another V8 or with
// other flags; a build is named by the hash tools/build-cli.ts writes on the bundle's first line,
// since V8 checks little of the source itself. Each command has its own: V8 compiles a function
// when it is first called, and the cache holds what the run that wrote it compiled, so a cache
// shared by all commands held only the first one's functions (`flow get` after `flow --version`
// compiled its own on every run) and a union of all would be slower to load for each. Writing one
// removes the installation's older builds (and other installations' unused for 30 days).
// NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const HASH_LINE = /^\/\/ flowrun-cli-bundle ([0-9a-f]{16,64})\n/;

/**
 * The bundle's exports, as require(file) would return them (and cached where require looks).
 * `variant` names the compiled code kept for this run (the command: [a-z0-9-]).
 */
function loadBundle(file, variant = 'main') {
  // Once per process: a worker's copy is the one its flow's `import 'flowrun'` gets (dist/bundle/index.js).
  const loaded = Module._cache[file];
  if (loaded?.loaded) return loaded.exports;
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return require(file);
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache();
    return require(file);
  }
  // ASCII only (tools/build-cli.ts): Latin-1 decodes it to the same text, faster than UTF-8.
  const source = fs.readFileSync(file, 'latin1');
  const build = HASH_LINE.exec(source);
  if (!build) return require(file);
  const vm = require('node:vm');

  // Named by the installation (the bundle's path), then its build: a new build's cache replaces
  // the installation's older ones, another installation's stay.
  const cacheFile = path.join(cacheDir(), `${path.basename(file)}-${pathTag(file)}-${build[1]}-${variant}-${process.version}-${process.arch}.bin`);
  const cached = readOwnFile(cacheFile);
  // Node's CommonJS wrapper, plus the function the bundle's import() expressions call
  // (tools/build-cli.ts, routeDynamicImports), on the first line: line numbers in stack traces stay.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __flowrunBundleImport) { ${source}\n})`, {
    filename: file,
    cachedData: cached,
  });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  Module._cache[file] = mod;
  try {
    script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file), importFrom(path.dirname(file)));
  } catch (e) {
    delete Module._cache[file];
    throw e;
  }
  mod.loaded = true;
  // Written at exit (or when saveCompiledCode says), so that it holds the functions this process compiled on the way.
  if (!cached || script.cachedDataRejected) {
    const save = () => {
      if (unsaved.get(file) !== save) return;
      unsaved.delete(file);
      writeCache(cacheFile, script, `${path.basename(file)}-${pathTag(file)}-`, `${build[1]}-`, `-${process.version}-${process.arch}.bin`);
    };
    unsaved.set(file, save);
    process.once('exit', save);
  }
  return mod.exports;
}

/** Bundles loaded without a usable code cache: the function that writes one, by bundle file. */
const unsaved = new Map();

/**
 * Writes the code cache of a bundle loadBundle compiled without one, now rather than at exit: a
 * task worker ends by SIGKILL (its pool's close), which runs no exit handler. Nothing to do when
 * the cache was used or is written already.
 */
function saveCompiledCode(file) {
  const save = unsaved.get(file);
  if (save) save();
}

/**
 * import() as the bundle's own would do it: relative specifiers from the bundle's directory, bare
 * ones from this package's node_modules (this file is in the same package), URLs as they are.
 */
function importFrom(dir) {
  return (specifier) => {
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      specifier = require('node:url').pathToFileURL(path.resolve(dir, specifier)).href;
    }
    return import(specifier);
  };
}

/** A short tag of a path (32-bit FNV-1a, hex): loading node:crypto for it would cost more than the rest of this file. */
function pathTag(file) {
  let h = 0x811c9dc5;
  for (let i = 0; i < file.length; i++) h = Math.imul(h ^ file.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function cacheDir() {
  const env = process.env;
  const home = () => require('node:os').homedir();
  return path.join(env.FLOW_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(home(), '.cache'), 'flowrun'), 'v8');
}

/** The file's bytes if it is a regular file of this user's (compiled code runs as this user). */
function readOwnFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) return undefined;
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Other installations' caches untouched this long are removed when a new one is written. */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * `install` starts the names of this installation's caches; `build` follows it in those of this
 * build, `runtime` ends those of this Node version and architecture.
 */
function writeCache(file, script, install, build, runtime) {
  const dir = path.dirname(file);
  try {
    const data = script.createCachedData();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    // A read-only or full home directory: the next run compiles again, nothing else changes.
    return;
  }
  try {
    for (const name of fs.readdirSync(dir)) {
      const other = path.join(dir, name);
      if (other === file) continue;
      const age = Date.now() - fs.statSync(other).mtimeMs;
      if (name.endsWith('.tmp') && age < 60_000) continue; // another process writing its cache
      // The same installation's older builds (or Node versions) go now, its other commands' stay;
      // other installations' go after STALE_MS.
      const current = name.startsWith(`${install}${build}`) && name.endsWith(runtime);
      if ((name.startsWith(install) && !current) || age > STALE_MS) fs.rmSync(other, { force: true });
    }
  } catch {
    // Another process pruning at the same time.
  }
}

module.exports = { loadBundle, saveCompiledCode };
