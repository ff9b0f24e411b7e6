import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUp } from './find-up.js';

/** flowrun's own install directory (where its package.json is), from dist/ or src/ alike. */
export const PACKAGE_ROOT: string = findUp(dirname(fileURLToPath(import.meta.url)), ['package.json'])!;

/**
 * The package entry and the task worker as flows run them: dist/bundle (tools/build-runtime.ts),
 * one CommonJS bundle that both the worker and the entry (its ES module face) load, so a worker
 * and the flows it imports share one copy of each module; tsc's dist/src where there is no such
 * build (the Batch container's bundle lays the library out as dist/src). Both from the same
 * place, so the sharing holds either way.
 */
const BUNDLED_WORKER = join(PACKAGE_ROOT, 'dist', 'bundle', 'task', 'worker.cjs');
const bundled = existsSync(BUNDLED_WORKER);
export const RUNTIME_ENTRY = join(PACKAGE_ROOT, 'dist', bundled ? 'bundle' : 'src', 'index.js');
export const RUNTIME_WORKER = bundled ? BUNDLED_WORKER : join(PACKAGE_ROOT, 'dist', 'src', 'task', 'worker.js');

export const FLOWRUN_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Identifies this build of flowrun for cache keys: the version plus the build time of this
 * module, so a rebuilt (development) copy never reads graphs cached by an older one.
 */
export const BUILD_ID = `${FLOWRUN_VERSION}+${Math.floor(statSync(fileURLToPath(import.meta.url)).mtimeMs)}`;
