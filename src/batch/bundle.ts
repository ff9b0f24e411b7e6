import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { envCacheRoot } from '../env/cache.js';
import { ExitCode, FlowError } from '../errors/index.js';
import type { Store } from '../store/types.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { sha256 } from '../util/hash.js';
import { BUILD_ID, FLOWRUN_VERSION, PACKAGE_ROOT } from '../util/package-info.js';

/** The task runtime as one document and the job command that fetches and runs it. */
export interface TaskBundle {
  /** sha256 of `doc`: the object id in the store, FLOW_BUNDLE in the job. */
  hash: string;
  doc: Buffer;
  /** `node -e <loader>`: the job definition's command, the same for every job of this flowrun build. */
  command: string[];
}

/** Entry points of the bundle, as built by tsc under dist/src/ (the layout is kept: the code finds its files relative to package.json). */
const ENTRIES = ['batch/container/main.js', 'task/worker.js', 'task/env-hooks.js', 'index.js'];
/** Never needed in a container (compiling, solving, git): left out, so the bundle stays pure JS. */
const EXTERNAL = ['esbuild', 'oxc-parser', '@conda-org/rattler', 'isomorphic-git'];
/** Output ESM may call require() (bundled CommonJS packages): give it Node's. */
const REQUIRE_SHIM = "import { createRequire as __flowrunCreateRequire } from 'node:module'; const require = __flowrunCreateRequire(import.meta.url);";

let memo: Promise<TaskBundle> | undefined;

/**
 * The bundle of this flowrun build: built with esbuild once per build (cached on disk by BUILD_ID,
 * so only the first `--with batch` run after an install or rebuild pays the ~2 s), and the loader
 * command. The document maps file paths to contents, the same bytes for the same build.
 */
export function taskBundle(): Promise<TaskBundle> {
  memo ??= loadOrBuild();
  memo.catch(() => {
    memo = undefined;
  });
  return memo;
}

async function loadOrBuild(): Promise<TaskBundle> {
  const dir = join(envCacheRoot(), 'batch-bundles');
  const index = join(dir, `build-${sha256(`${BUILD_ID}\0${PACKAGE_ROOT}`).slice(0, 24)}.json`);
  try {
    const { hash, command } = JSON.parse(readFileSync(index, 'utf8')) as { hash: string; command: string[] };
    const doc = readFileSync(join(dir, `${hash}.json`));
    if (sha256(doc) === hash) return { hash, doc, command };
  } catch {
    /* not built yet, or damaged: build again */
  }
  const built = await build();
  writeFileAtomic(join(dir, `${built.hash}.json`), built.doc);
  writeFileAtomic(index, Buffer.from(JSON.stringify({ hash: built.hash, command: built.command })));
  return built;
}

async function build(): Promise<TaskBundle> {
  const src = join(PACKAGE_ROOT, 'dist', 'src');
  const missing = ENTRIES.map((e) => join(src, e)).find((p) => !existsSync(p));
  if (missing) throw new FlowError('BATCH_BUNDLE_BUILD', `flowrun's build is incomplete: ${missing} is missing, so the Batch task runtime cannot be bundled.`, { exitCode: ExitCode.remote, fix: 'Reinstall flowrun (npm ci), or run npm run build in a checkout.' });
  const esbuild = await import('esbuild');
  const outdir = join(PACKAGE_ROOT, '.flowrun-bundle');
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify({ name: 'flowrun', version: FLOWRUN_VERSION, type: 'module', exports: { '.': './dist/src/index.js' }, flowrunBuild: BUILD_ID })}\n`,
  };
  const out = await esbuild.build({
    entryPoints: ENTRIES.map((e) => ({ in: join(src, e), out: join('dist', 'src', e.replace(/\.js$/, '')) })),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    // Shared code goes next to the worker: code that finds a file relative to its own module
    // (the loader hooks beside env-resolution) finds it in dist/src/task/ as in the package.
    chunkNames: 'dist/src/task/chunk-[hash]',
    external: EXTERNAL,
    minify: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: REQUIRE_SHIM },
  });
  for (const f of out.outputFiles) files[relative(outdir, f.path)] = f.text;
  const doc = Buffer.from(JSON.stringify({ schema: 'flowrun.bundle/1', version: FLOWRUN_VERSION, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) }));
  const loader = await esbuild.build({
    entryPoints: [join(src, 'batch', 'loader', 'loader.js')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    // Old enough to parse on the Node of an outdated image, so the version check can say what is wrong.
    target: 'node16',
    write: false,
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return { hash: sha256(doc), doc, command: ['node', '-e', loader.outputFiles[0]!.text.trim()] };
}

/** Puts the bundle into the store the jobs read, unless it is already there (a HEAD, no upload). */
export async function uploadBundle(remote: Store, bundle: TaskBundle): Promise<void> {
  if (!(await remote.hasObject(bundle.hash))) await remote.putObject(bundle.doc);
}
