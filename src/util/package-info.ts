import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUp } from './find-up.js';

/** flowrun's own install directory (where its package.json is), from dist/ or src/ alike. */
export const PACKAGE_ROOT: string = findUp(dirname(fileURLToPath(import.meta.url)), ['package.json'])!;

export const FLOWRUN_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Identifies this build of flowrun for cache keys: the version plus the build time of this
 * module, so a rebuilt (development) copy never reads graphs cached by an older one.
 */
export const BUILD_ID = `${FLOWRUN_VERSION}+${Math.floor(statSync(fileURLToPath(import.meta.url)).mtimeMs)}`;
