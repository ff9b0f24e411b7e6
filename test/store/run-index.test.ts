import fs, { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../../src/client/list-runs.js';
import { runRecordPath, type RunRecord } from '../../src/metadata/records.js';
import { fsck } from '../../src/store/fsck.js';
import { LocalStore } from '../../src/store/local.js';
import { checkRunRecord } from '../../src/metadata/record-check.js';
import { indexedRunRecords, RUN_INDEX_PATH } from '../../src/store/run-index.js';
import { flow, tempDir } from '../helpers/cli.js';

function freshStore(): LocalStore {
  return LocalStore.open(join(tempDir('flowrun-index-'), 'store'));
}

function record(n: number, status: RunRecord['status'] = 'ok', tag = ''): RunRecord {
  return {
    schema: 'flowrun.run/1',
    id: `run-${n}`,
    flow: 'F',
    file: 'f.ts',
    status,
    params: {},
    seed: n,
    tags: tag ? [tag] : [],
    started: '2026-01-01T00:00:00.000Z',
    host: 'elsewhere',
    pid: 1,
    flowrunVersion: '0',
    node: 'v20',
    steps: [{ name: 'start', type: 'linear' }],
    git: null,
  };
}

/** What reading every run record directly gives: the truth the index must always agree with. */
function direct(store: LocalStore): Map<string, RunRecord> {
  const out = new Map<string, RunRecord>();
  for (const name of store.listRecordsSync('runs')) {
    const value = store.readRecordSync<unknown>(runRecordPath(name));
    if (value !== undefined) out.set(name, checkRunRecord(value, name));
  }
  return out;
}

const indexFile = (store: LocalStore) => join(store.root, RUN_INDEX_PATH);

/** The index file's parts (src/store/run-index-file.ts): its entries, its texts section (each text followed by ",\n"), its records. */
interface IndexParts {
  entries: Array<{ name: string; textLength: number; ascii: boolean; summary: Record<string, unknown> }>;
  texts: string;
  records: RunRecord[];
  header: { schema: string; sections: Array<[number, string]> };
}

function readIndexParts(store: LocalStore): IndexParts {
  const bytes = readFileSync(indexFile(store));
  const headerEnd = bytes.indexOf(10) + 1;
  const header = JSON.parse(bytes.subarray(0, headerEnd).toString('utf8')) as IndexParts['header'];
  const parts: string[] = [];
  let at = headerEnd;
  for (const [length] of header.sections) {
    parts.push(bytes.subarray(at, at + length).toString('utf8'));
    at += length;
  }
  return { header, entries: JSON.parse(parts[0]!) as IndexParts['entries'], texts: parts[1]!, records: JSON.parse(parts[2]!) as RunRecord[] };
}

/** Writes the parts back as an index: with digests of what is written (`digests: 'fresh'`), or the old ones (an edit that breaks them). */
function writeIndexParts(store: LocalStore, p: IndexParts, { digests, raw = false }: { digests: 'fresh' | 'stale'; raw?: boolean }): void {
  const sections = [JSON.stringify(p.entries), p.texts, JSON.stringify(p.records)].map((t) => (raw ? t : t.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)));
  const header = { schema: p.header.schema, sections: sections.map((t, i) => [Buffer.byteLength(t), digests === 'fresh' ? createHash('sha256').update(t).digest('hex') : p.header.sections[i]![1]]) };
  writeFileSync(indexFile(store), `${JSON.stringify(header)}\n${sections.join('')}`);
}

/** Index of a run's entry. */
const entryOf = (p: IndexParts, run: string) => p.entries.findIndex((e) => e.name === run);
const recordFile = (store: LocalStore, n: number) => join(store.root, runRecordPath(`run-${n}`));

/** Rewrites a record in place (same file, same inode), keeping its size: what no stat field but the times can tell. */
function rewriteInPlace(store: LocalStore, n: number): void {
  const text = readFileSync(recordFile(store, n), 'utf8');
  writeFileSync(recordFile(store, n), text.replace(/"status":"(ok|failed)"/, (_, s: string) => (s === 'ok' ? '"status":"no"' : '"status":"ok"')).replace('"status":"no"', '"status":"ko"'));
}

describe('run index: a derived cache that never disagrees with the run records', () => {
  it('serves unchanged old records from the index, and sees every later change: in-place rewrite of the same size, atomic rewrite, deletion, a new run, a stale, corrupt or deleted index', async () => {
    const store = freshStore();
    for (let n = 1; n <= 30; n++) store.writeRecordSync(runRecordPath(`run-${n}`), record(n));
    // Past the racy window (2 s on the file system's clock), entries are trusted without reading.
    await new Promise((r) => setTimeout(r, 2300));
    expect(indexedRunRecords(store).read).toBe(30);
    expect(indexedRunRecords(store).read).toBe(0);
    const stale = readFileSync(indexFile(store));

    const steps: Array<[string, () => void]> = [
      ['in-place rewrite of the same size', () => rewriteInPlace(store, 3)],
      ['atomic rewrite', () => store.writeRecordSync(runRecordPath('run-4'), record(4, 'failed', 'x'))],
      ['run directory deleted', () => rmSync(join(store.root, 'runs', 'run-5'), { recursive: true })],
      ['new run', () => store.writeRecordSync(runRecordPath('run-31'), record(31, 'running'))],
      ["record replaced by a copy of another run's file", () => copyFileSync(recordFile(store, 7), recordFile(store, 6))],
      ['the index from before all of these put back', () => writeFileSync(indexFile(store), stale)],
      ['a claim without a record', () => mkdirSync(join(store.root, 'runs', 'run-32'))],
      ['index corrupt', () => writeFileSync(indexFile(store), '{"schema":"flowrun.run-index/4","sections":[[2,"x"],[0,"y"],[0,"z"]]}\n[{')],
      ['index deleted', () => rmSync(indexFile(store))],
      [
        'index entry damaged, its file unchanged',
        () => {
          const idx = readIndexParts(store);
          idx.records[entryOf(idx, 'run-8')] = { not: 'a record' } as unknown as RunRecord;
          writeIndexParts(store, idx, { digests: 'stale' });
        },
      ],
    ];
    for (const [what, change] of steps) {
      change();
      expect(indexedRunRecords(store).records, what).toEqual(direct(store));
      expect(indexedRunRecords(store).records, `${what}, listed again`).toEqual(direct(store));
    }
    expect(existsSync(indexFile(store))).toBe(true);
  });

  it('an index edited to hold another well-formed record, its record file unchanged, is rebuilt, not served; so is an index of the previous format (its records are served unchecked only under a matching digest)', async () => {
    const store = freshStore();
    for (let n = 1; n <= 3; n++) store.writeRecordSync(runRecordPath(`run-${n}`), record(n));
    await new Promise((r) => setTimeout(r, 2300));
    expect(indexedRunRecords(store).read).toBe(3);
    expect(indexedRunRecords(store).read).toBe(0);
    const idx = readIndexParts(store);
    expect(idx.header.schema).toBe('flowrun.run-index/4');
    idx.records[entryOf(idx, 'run-2')]!.status = 'failed';
    writeIndexParts(store, idx, { digests: 'stale' });
    const listed = indexedRunRecords(store);
    expect(listed.records).toEqual(direct(store));
    expect(listed.read).toBe(3);
    expect(indexedRunRecords(store).read).toBe(0);

    // The previous format (one JSON document of records under one digest), holding an edited record under a matching digest.
    const previous = readIndexParts(store);
    const runs = Object.fromEntries(previous.entries.map((e, i) => [e.name, { stat: (e as unknown as { stat: number[] }).stat, record: previous.records[i]! }]));
    runs['run-3']!.record.status = 'failed';
    const runsText = JSON.stringify(runs);
    writeFileSync(indexFile(store), `{"schema":"flowrun.run-index/3","sha256":"${createHash('sha256').update(runsText).digest('hex')}","runs":${runsText}}`);
    expect(indexedRunRecords(store)).toEqual({ records: direct(store), read: 3 });
  });

  it('flow runs --json prints the same bytes served from the index as read from the records (issue #18: the index path must not change the output)', async () => {
    const dir = tempDir('flowrun-index-cli-');
    const store = LocalStore.open(join(dir, '.flow'));
    const text = 'a value with non-ASCII text: café, 日本, 🎲, "quotes" \\ and a\nnewline';
    for (let n = 1; n <= 5; n++) store.writeRecordSync(runRecordPath(`run-${n}`), { ...record(n, n === 2 ? 'failed' : 'ok', n === 3 ? 'nightly' : ''), params: { text, n, nested: { list: [1, null, 'x'] } } });
    store.writeRecordSync(runRecordPath('run-6'), { ...record(6, 'running'), host: 'elsewhere' });
    const fromRecords = await flow(['runs', '--json'], { cwd: dir });
    expect(fromRecords.exitCode, fromRecords.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2300));
    // Past the racy window: this listing reads the records once more and writes an index that the next one serves.
    await flow(['runs', '--json'], { cwd: dir });
    const written = statSync(indexFile(store)).mtimeMs;
    const fromIndex = await flow(['runs', '--json'], { cwd: dir });
    expect(statSync(indexFile(store)).mtimeMs, 'served from the index, not rebuilt').toBe(written);
    expect(fromIndex.stdout).toBe(fromRecords.stdout);
    expect((JSON.parse(fromIndex.stdout) as { runs: unknown[] }).runs).toHaveLength(6);
  });

  it('any sequence of record writes, deletions and index damage lists exactly what the records say', () => {
    type Op = { kind: 'write' | 'inplace' | 'delete'; run: number; status: RunRecord['status'] } | { kind: 'drop-index' | 'corrupt-index' | 'restore-index' | 'list' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('write' as const, 'inplace' as const, 'delete' as const), run: fc.integer({ min: 1, max: 8 }), status: fc.constantFrom<RunRecord['status']>('ok', 'failed', 'running') }),
      fc.record({ kind: fc.constantFrom('drop-index' as const, 'corrupt-index' as const, 'restore-index' as const, 'list' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const store = freshStore();
        let saved: Buffer | undefined;
        for (const o of ops) {
          if (o.kind === 'write') store.writeRecordSync(runRecordPath(`run-${o.run}`), record(o.run, o.status));
          else if (o.kind === 'inplace') {
            if (existsSync(recordFile(store, o.run))) rewriteInPlace(store, o.run);
          } else if (o.kind === 'delete') rmSync(join(store.root, 'runs', `run-${o.run}`), { recursive: true, force: true });
          else if (o.kind === 'drop-index') rmSync(indexFile(store), { force: true });
          else if (o.kind === 'corrupt-index') {
            if (existsSync(indexFile(store))) writeFileSync(indexFile(store), 'not json');
          } else if (o.kind === 'restore-index') {
            if (saved) writeFileSync(indexFile(store), saved);
          } else {
            expect(indexedRunRecords(store).records).toEqual(direct(store));
            if (existsSync(indexFile(store))) saved = readFileSync(indexFile(store));
          }
        }
        expect(indexedRunRecords(store).records).toEqual(direct(store));
      }),
      { numRuns: 60 },
    );
  });

  it('records with non-ASCII text are served from the index as written; an index holding raw non-ASCII bytes (not written by flowrun) is rebuilt', async () => {
    const store = freshStore();
    const fancy = (n: number): RunRecord => ({ ...record(n), tags: ['ünïcødé', '日本語', '🚀'], params: { name: 'Zoë' } });
    for (let n = 1; n <= 3; n++) store.writeRecordSync(runRecordPath(`run-${n}`), fancy(n));
    await new Promise((r) => setTimeout(r, 2300));
    expect(indexedRunRecords(store).read).toBe(3);
    const served = indexedRunRecords(store);
    expect(served.read).toBe(0);
    expect(served.records).toEqual(direct(store));
    expect(/[^\x00-\x7f]/.test(readFileSync(indexFile(store), 'latin1'))).toBe(false);
    // The same index as UTF-8 text, under digests of its bytes: a valid index by its shape, but not one flowrun writes.
    writeIndexParts(store, readIndexParts(store), { digests: 'fresh', raw: true });
    expect(/[^\x00-\x7f]/.test(readFileSync(indexFile(store), 'latin1'))).toBe(true);
    const rebuilt = indexedRunRecords(store);
    expect(rebuilt.read).toBe(3);
    expect(rebuilt.records).toEqual(direct(store));
  });

  it('listRuns: newest first, from the index', async () => {
    const store = freshStore();
    for (const n of [2, 10, 1]) store.writeRecordSync(runRecordPath(`run-${n}`), record(n));
    expect((await listRuns(store)).map((r) => r.id)).toEqual(['run-10', 'run-2', 'run-1']);
    expect(existsSync(indexFile(store))).toBe(true);
  });

  it('listRuns asks the file system nothing that fails: runs without a tag log cost no thrown ENOENT (issue #18: 1,000 of them were a visible part of flow runs)', async () => {
    const store = freshStore();
    for (let n = 1; n <= 20; n++) store.writeRecordSync(runRecordPath(`run-${n}`), record(n));
    store.createRecordSync('runs/run-3/tags/x.json', { not: 'an entry name: skipped' });
    const real = fs.readdirSync;
    const failed: string[] = [];
    // Every `import { readdirSync } from 'node:fs'` sees the counting wrapper after syncBuiltinESMExports.
    fs.readdirSync = ((...args: Parameters<typeof real>) => {
      try {
        return real(...args);
      } catch (e) {
        failed.push(String(args[0]));
        throw e;
      }
    }) as typeof real;
    syncBuiltinESMExports();
    try {
      expect((await listRuns(store)).map((r) => r.id)).toHaveLength(20);
    } finally {
      fs.readdirSync = real;
      syncBuiltinESMExports();
    }
    expect(failed).toEqual([]);
  });

  it('a corrupt run record is still an error naming its file, index or not', () => {
    const store = freshStore();
    store.writeRecordSync(runRecordPath('run-1'), record(1));
    indexedRunRecords(store);
    writeFileSync(recordFile(store, 1), '{"schema":"flowrun.run/1"}');
    expect(() => indexedRunRecords(store)).toThrow(/run-1\/run.json has a missing or malformed field "id"/);
  });

  it('flow fsck reports an index entry it would serve that disagrees with its record, and not a missing index', async () => {
    const store = freshStore();
    store.writeRecordSync(runRecordPath('run-1'), record(1));
    store.writeRecordSync(runRecordPath('run-2'), record(2));
    await new Promise((r) => setTimeout(r, 2300));
    indexedRunRecords(store);
    indexedRunRecords(store); // written after the racy window: its entries are trusted
    expect((await fsck(store)).problems).toEqual([]);
    const idx = readIndexParts(store);
    idx.records[entryOf(idx, 'run-2')]!.status = 'failed';
    writeIndexParts(store, idx, { digests: 'stale' });
    const problems = (await fsck(store)).problems;
    expect(problems).toMatchObject([{ code: 'STORE_INDEX_MISMATCH', subject: RUN_INDEX_PATH }]);
    expect(problems[0]!.message).toMatch(/run-2/);
    rmSync(indexFile(store));
    expect((await fsck(store)).problems).toEqual([]);
  });
});
