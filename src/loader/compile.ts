import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { BuildFailure, Message, Plugin } from 'esbuild';
import { FlowFileError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { closest } from '../util/suggest.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { BUILD_ID, RUNTIME_ENTRY } from '../util/package-info.js';
import { JsonCache } from './cache.js';

export interface CompiledFlow {
  /** Absolute path of the compiled ES module (local imports bundled, packages external). */
  modulePath: string;
  /** Project-relative inputs that went into it, with their content hashes. */
  inputs: Record<string, string>;
  /** Each input's local imports (bundled, not packages): what the step cache follows. */
  imports: ModuleImports;
  fromCache: boolean;
}

/** Input path → the local modules it imports: `specifier` as written, `path` as resolved (project-relative). */
export type ModuleImports = Record<string, Array<{ path: string; specifier?: string; kind: string }>>;

/**
 * Where the compiled module runs, when not from this machine's cache (a Batch container): what
 * `import 'flowrun'` becomes there and the directory the module is placed in (source map paths).
 */
export interface CompileTarget {
  flowrunImport?: string;
  moduleDir?: string;
}

/** The module every `import 'flowrun'` in a flow resolves to: this very copy of flowrun, as its workers load it. */
const FLOWRUN_ENTRY = RUNTIME_ENTRY;

/**
 * Compiles a flow file to one ES module with esbuild: TypeScript stripped, TC39 decorators
 * lowered (whatever the user's tsconfig says), sibling modules bundled, npm packages left as
 * imports resolved from the project's node_modules. The output is cached by the hashes of its
 * inputs, so an unchanged flow costs a few file reads. Packages an @npm environment provides
 * (`envPackages`) need not be in the project's node_modules.
 */
export async function compileFlow(path: string, projectRoot: string, envPackages: ReadonlySet<string> = new Set(), o: CompileTarget = {}): Promise<CompiledFlow> {
  const cache = JsonCache.forProject(projectRoot, 'build');
  const flowrunImport = o.flowrunImport ?? FLOWRUN_ENTRY;
  const key = sha256(`${BUILD_ID}\0${path}${o.flowrunImport ? `\0${o.flowrunImport}\0${o.moduleDir}` : ''}`);
  const hit = cache.get<{ module: string; inputs: Record<string, string>; imports?: ModuleImports }>(key);
  if (hit?.imports && existsSync(hit.module) && inputsUnchanged(projectRoot, hit.inputs)) {
    return { modulePath: hit.module, inputs: hit.inputs, imports: hit.imports, fromCache: true };
  }
  const { build } = await import('esbuild');
  let result;
  try {
    result = await build({
      entryPoints: [path],
      absWorkingDir: projectRoot,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      // The module is run from this directory: the source map's paths are relative to it.
      outdir: o.moduleDir ?? join(cache.dir, '..', 'modules'),
      metafile: true,
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [externalPackages(envPackages, flowrunImport)],
      tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
    });
  } catch (e) {
    throw compileError(e as BuildFailure, path, projectRoot);
  }
  const code = result.outputFiles[0]!.text;
  const modulePath = join(cache.dir, '..', 'modules', `${sha256(code)}.mjs`);
  if (!existsSync(modulePath)) writeFileAtomic(modulePath, code);
  const inputs: Record<string, string> = {};
  const imports: ModuleImports = {};
  for (const [input, meta] of Object.entries(result.metafile.inputs)) {
    inputs[input] = sha256(readFileSync(resolve(projectRoot, input)));
    imports[input] = meta.imports.filter((i) => !i.external).map((i) => ({ path: i.path, kind: i.kind, ...(i.original !== undefined ? { specifier: i.original } : {}) }));
  }
  cache.set(key, { module: modulePath, inputs, imports });
  return { modulePath, inputs, imports, fromCache: false };
}

function inputsUnchanged(projectRoot: string, inputs: Record<string, string>): boolean {
  for (const [file, hash] of Object.entries(inputs)) {
    try {
      if (sha256(readFileSync(resolve(projectRoot, file))) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Leaves packages as runtime imports, but checks that each one exists so a missing package
 * is reported at compile time with the importing line. `flowrun` itself is pinned to this copy.
 */
function externalPackages(envPackages: ReadonlySet<string>, flowrunImport: string): Plugin {
  return {
    name: 'flowrun-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path === 'flowrun') return { path: flowrunImport, external: true };
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const name = packageName(args.path);
        if (envPackages.has(name) || packageDirExists(args.resolveDir, name)) return { path: args.path, external: true };
        return { errors: [{ text: `Cannot find package '${name}'.` }] };
      });
    },
  };
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function packageDirExists(from: string, name: string): boolean {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if (statSync(join(dir, 'node_modules', name)).isDirectory()) return true;
    } catch {
      /* keep looking */
    }
    if (dirname(dir) === dir) return false;
  }
}

function compileError(e: BuildFailure, path: string, projectRoot: string): FlowFileError {
  const messages: Message[] = Array.isArray(e.errors) && e.errors.length > 0 ? e.errors : [{ text: String(e.message ?? e) } as Message];
  const first = messages[0]!;
  const loc = first.location;
  const where = (m: Message) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}` : path);
  const missing = /^Cannot find package|^Could not resolve/.test(first.text);
  const list = messages.map((m) => `  ${where(m)}: ${m.text}`).join('\n');
  const at = { file: loc?.file ?? path, line: loc?.line, column: loc ? loc.column + 1 : undefined };
  const local = missing && loc ? missingLocalFile(first.text, loc.file, projectRoot) : undefined;
  if (local) {
    return new FlowFileError('FLOW_IMPORT_NOT_FOUND', `${where(first)}: the import '${local.specifier}' names a file that does not exist (no ${local.looked} in ${local.dir}).`, {
      ...at,
      fix: `${local.guess ? `Did you mean '${local.guess}'? ` : ''}Fix the path in the import (it is relative to the importing file).`,
    });
  }
  return new FlowFileError(missing ? 'FLOW_IMPORT_NOT_FOUND' : 'FLOW_COMPILE_ERROR', `${missing ? 'A module imported by the flow cannot be found' : 'The flow does not compile'}:\n${list}`, {
    ...at,
    fix: missing ? 'Install the package (npm install <name>) or fix the import path.' : 'Fix the error shown and try again.',
  });
}

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx'];

/**
 * A relative import esbuild could not resolve: a misspelled file, not a package to install.
 * Names the files looked for and the closest source file that exists in that folder.
 */
function missingLocalFile(text: string, importer: string, projectRoot: string): { specifier: string; looked: string; dir: string; guess?: string } | undefined {
  const specifier = /^Could not resolve "(.*)"$/.exec(text)?.[1];
  if (!specifier || !/^\.{1,2}\//.test(specifier)) return undefined;
  const target = resolve(projectRoot, dirname(importer), specifier);
  const stem = basename(target).replace(/\.[cm]?[jt]sx?$/, '');
  let siblings: string[] = [];
  try {
    siblings = readdirSync(dirname(target))
      .filter((f) => SOURCE_EXTENSIONS.includes(extname(f)))
      .map((f) => f.slice(0, -extname(f).length));
  } catch {
    /* the folder itself is missing */
  }
  const near = closest(
    stem,
    siblings.filter((f) => f !== stem),
  );
  const written = basename(specifier);
  const ext = written === stem ? '' : written.slice(stem.length);
  return {
    specifier,
    looked: `${stem}.ts, ${stem}.js or ${stem}/index.ts`,
    dir: relative(projectRoot, dirname(target)) || '.',
    ...(near ? { guess: `${specifier.slice(0, specifier.length - written.length)}${near}${ext}` } : {}),
  };
}
