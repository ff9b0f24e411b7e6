import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Literal } from '../decorators/types.js';
import { StoreError, UsageError } from '../errors/index.js';
import type { FlowGraph } from '../graph/types.js';
import type { SyncStore } from '../store/types.js';
import type { IncludeRecord } from '../metadata/records.js';

/**
 * Reads every @includeFile input of a run before it starts and stores its bytes as an object:
 * the record then pins the content by hash, so replay and resume never read the file again.
 * Paths are resolved against `cwd` (the directory `flow run` was started in, as Metaflow does).
 * Inputs already pinned (`pinned`, from the run being replayed or resumed) are kept as they are.
 */
export function captureIncludes(graph: FlowGraph, params: Record<string, Literal>, cwd: string, store: SyncStore, pinned: Record<string, IncludeRecord> = {}): Record<string, IncludeRecord> {
  const out: Record<string, IncludeRecord> = {};
  for (const p of graph.params) {
    if (!p.include) continue;
    const value = params[p.name];
    if (value === undefined) continue;
    const keep = pinned[p.name];
    if (keep && keep.path === value) {
      out[p.name] = keep;
      continue;
    }
    if (typeof value !== 'string' || value === '') {
      throw new UsageError('PARAM_TYPE', `--${p.name} expects a file path, got ${JSON.stringify(value)}.`, { file: graph.file, line: p.line, param: p.name, fix: `Pass a path: --${p.name} data/input.csv.` });
    }
    const full = resolve(cwd, value);
    let bytes: Buffer;
    try {
      if (!statSync(full).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      bytes = readFileSync(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError('PARAM_FILE_NOT_FOUND', `--${p.name}: the file ${full} ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (e as Error).message})`}.`, {
        file: graph.file,
        line: p.line,
        param: p.name,
        fix: `Pass an existing file: --${p.name} <path> (relative paths are resolved from ${cwd}).`,
      });
    }
    out[p.name] = { path: value, hash: store.putObjectSync(bytes), size: bytes.byteLength, binary: p.include.binary };
  }
  return out;
}

/** The content of every pinned input, as the step sees it (text, or a Buffer when binary). */
export function loadIncludes(includes: Record<string, IncludeRecord>, store: SyncStore): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const [name, inc] of Object.entries(includes)) {
    const bytes = store.getObjectSync(inc.hash);
    out[name] = inc.binary ? bytes : bytes.toString('utf8');
  }
  return out;
}

/** Fails clearly (naming the input) when a pinned input's content is not in the store. */
export function assertIncludesStored(run: string, includes: Record<string, IncludeRecord>, store: SyncStore): void {
  for (const [name, inc] of Object.entries(includes)) {
    try {
      store.getObjectSync(inc.hash);
    } catch (e) {
      throw new StoreError('REPLAY_SNAPSHOT_MISSING', `The included file ${name} of ${run} (${inc.path}, object ${inc.hash}) is ${(e as { code?: string }).code === 'STORE_MISSING_OBJECT' ? 'missing' : 'unreadable'} in ${store.location}.`, {
        fix: 'Run flow pull to fetch it from the mirror, or flow fsck to see what else is affected.',
        cause: e,
      });
    }
  }
}
