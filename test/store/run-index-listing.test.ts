import fs, { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRuns, listRunsJsonText } from '../../src/client/list-runs.js';
import { changeTags } from '../../src/client/tags.js';
import { runsJson } from '../../src/cli/views.js';
import { runRecordPath, type RunRecord } from '../../src/metadata/records.js';
import { type RunQuery, selectRuns } from '../../src/metadata/run-query.js';
import { fsck } from '../../src/store/fsck.js';
import { LocalStore } from '../../src/store/local.js';
import { indexedRunListing, indexedRunRecords, RUN_INDEX_PATH } from '../../src/store/run-index.js';
import { tempDir } from '../helpers/cli.js';

/** Past the racy window (2 s on the file system's clock), the index's entries are served. */
const pastRacyWindow = () => new Promise((r) => setTimeout(r, 2300));

function record(n: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    schema: 'flowrun.run/1',
    id: `run-${n}`,
    flow: n % 2 ? 'Train' : 'Eval',
    file: 'f.ts',
    status: 'ok',
    params: { n, text: 'ASCII "quoted" \\ and a\nnewline' },
    seed: n,
    tags: [],
    started: `2026-01-01T00:00:${String(n).padStart(2, '0')}.000Z`,
    durationMs: 10 * n,
    host: 'elsewhere',
    pid: 1,
    user: n % 3 ? 'alice' : 'bob',
    flowrunVersion: '0',
    node: 'v20',
    steps: [{ name: 'start', type: 'linear' }],
    git: null,
    ...extra,
  };
}

const verdict = (reproduced: boolean, diverged = false): RunRecord['verdict'] => ({
  reproduced,
  artifacts: { reproduced: 1, diverged: diverged ? 1 : 0, missing: 0 },
  ...(diverged ? { firstDivergence: { step: 'start', task: 'start/1', artifact: 'x', kind: 'diverged' as const } } : {}),
});

/** A store with every kind of listed run: tags recorded and logged (added, then removed), replays of each verdict, a what-if, a resume, failed runs, runs running here (alive and killed) and elsewhere, and non-ASCII text. */
function varietyStore(): LocalStore {
  const store = LocalStore.open(join(tempDir('flowrun-listing-'), 'store'));
  const runs: RunRecord[] = [
    record(1, { tags: ['nightly'] }),
    record(2, { status: 'failed', error: { code: 'TASK_FAILED', message: 'boom', exitCode: 1 } as RunRecord['error'] }),
    record(3, { replayOf: 'run-1', verdict: verdict(true) }),
    record(4, { replayOf: 'run-1', verdict: verdict(false, true) }),
    record(5, { replayOf: 'run-2' }),
    record(6, { replayOf: 'run-1', whatIf: { alpha: 2 } }),
    record(7, { origin: { run: 'run-2', step: 'start', reused: 1 } }),
    record(8, { status: 'running', host: hostname(), pid: process.pid }),
    record(9, { status: 'running', host: hostname(), pid: 2 ** 22 + 12345 }),
    record(10, { status: 'running' }),
    record(11, { tags: ['ünïcødé', '🚀'], user: 'zoë', params: { text: 'café 日本 🎲' } }),
    record(12, { replayOf: 'run-2', verdict: verdict(true), status: 'failed' }),
  ];
  for (const r of runs) store.writeRecordSync(runRecordPath(r.id), r);
  changeTags(store, 'run-1', ['nightly'], 'add', ['best', 'ünï'], 'alice');
  changeTags(store, 'run-7', [], 'add', ['nightly'], 'bob');
  changeTags(store, 'run-1', ['nightly', 'best', 'ünï'], 'remove', ['nightly'], 'alice');
  return store;
}

/** What `flow runs --json` printed before the index held texts: the records listed, selected, and stringified. */
async function expected(store: LocalStore, q: RunQuery): Promise<string> {
  return JSON.stringify({ schema: 'flowrun.runs/1', runs: runsJson(selectRuns(await listRuns(store), q)) }, null, 2);
}

const QUERIES: RunQuery[] = [{}, { flow: 'Train' }, { tags: ['nightly'] }, { tags: ['best', 'ünï'] }, { status: 'diverged' }, { status: 'unverified' }, { status: 'interrupted' }, { status: 'running' }, { status: 'failed' }, { user: 'zoë' }, { limit: 3 }, { flow: 'Eval', limit: 2 }, { flow: 'Nope' }];

/** The index's sections as written (src/store/run-index-file.ts), to edit one and write it back. */
function indexSections(store: LocalStore): { header: { schema: string; sections: Array<[number, string]> }; parts: string[] } {
  const text = readFileSync(join(store.root, RUN_INDEX_PATH), 'latin1');
  const headerEnd = text.indexOf('\n') + 1;
  const header = JSON.parse(text.slice(0, headerEnd)) as { schema: string; sections: Array<[number, string]> };
  const parts: string[] = [];
  let at = headerEnd;
  for (const [length] of header.sections) {
    parts.push(text.slice(at, at + length));
    at += length;
  }
  return { header, parts };
}

function writeSections(store: LocalStore, header: { schema: string; sections: Array<[number, string]> }, parts: string[], digests: 'fresh' | 'stale'): void {
  const sections = parts.map((p, i) => [p.length, digests === 'fresh' ? createHash('sha256').update(p).digest('hex') : header.sections[i]![1]]);
  writeFileSync(join(store.root, RUN_INDEX_PATH), `${JSON.stringify({ schema: header.schema, sections })}\n${parts.join('')}`);
}

describe('flow runs --json from the run index: pre-serialized texts (issue #18)', () => {
  it('prints the same bytes as stringifying the listed records, for every filter, whether the index is being built or served: tags and tag logs, replays of each verdict, what-ifs, resumes, failed runs, running runs alive, killed and elsewhere, non-ASCII text', async () => {
    const store = varietyStore();
    for (const q of QUERIES) expect(listRunsJsonText(store, q).join(''), `while building, ${JSON.stringify(q)}`).toBe(await expected(store, q));
    await pastRacyWindow();
    listRunsJsonText(store, {}); // writes the index past the racy window: the next listings serve it
    const served = indexedRunListing(store);
    expect(served.filter((r) => r.stored).length, 'texts served from the index (all but the non-ASCII run, printed again from its value)').toBe(11);
    for (const q of QUERIES) expect(listRunsJsonText(store, q).join(''), `served, ${JSON.stringify(q)}`).toBe(await expected(store, q));
    // The whole unfiltered listing is the index's texts section itself, in three pieces around the runs printed again.
    expect(listRunsJsonText(store, {}).length).toBeLessThan(20);
    // Those pieces are slices of the index file's texts section, read when printed: not decoded strings nor copies (issue #18).
    const section = served.find((r) => r.stored)!.stored!.section;
    const bytePieces = listRunsJsonText(store, {}).filter((p) => typeof p !== 'string');
    expect(
      bytePieces.reduce((n, p) => n + p.byteLength, 0),
      'bytes served as slices of the texts section',
    ).toBeGreaterThan(section.length / 2);
    const chunks: number[] = [];
    for (const p of bytePieces) p.eachChunk((c) => chunks.push(c.byteLength));
    expect(Math.max(...chunks), 'read through one 64 KiB buffer').toBeLessThanOrEqual(65536);
    // A tag log changed after the index was written is seen at once (tag logs are not cached).
    changeTags(store, 'run-4', [], 'add', ['late'], 'bob');
    for (const q of [{}, { tags: ['late'] }]) expect(listRunsJsonText(store, q).join('')).toBe(await expected(store, q));
  });

  it('a served listing reads the record only of runs listed otherwise than their index text (tag log, killed), and the empty listing is what JSON.stringify prints', async () => {
    const store = varietyStore();
    await pastRacyWindow();
    listRunsJsonText(store, {});
    const real = fs.readFileSync;
    const reads: string[] = [];
    fs.readFileSync = ((...args: Parameters<typeof real>) => {
      reads.push(String(args[0]));
      return real(...args);
    }) as typeof real;
    syncBuiltinESMExports();
    let text: string;
    try {
      text = listRunsJsonText(store, { tags: ['ünïcødé'] }).join('');
    } finally {
      fs.readFileSync = real;
      syncBuiltinESMExports();
    }
    expect(text).toBe(await expected(store, { tags: ['ünïcødé'] }));
    // Only runs listed otherwise than their index text are read: run-1 and run-7 (tag logs, whose entries are read and checked as always), run-9 (killed).
    expect(
      reads
        .filter((p) => p.endsWith('run.json'))
        .map((p) => p.split(/[\\/]/).at(-2))
        .sort(),
    ).toEqual(['run-1', 'run-7', 'run-9']);
    const empty = LocalStore.open(join(tempDir('flowrun-listing-empty-'), 'store'));
    expect(listRunsJsonText(empty, {}).join('')).toBe(JSON.stringify({ schema: 'flowrun.runs/1', runs: [] }, null, 2));
  });

  it('a run id claimed by a run that never wrote its record (killed in between) is not listed, and the index is still served and not rewritten', async () => {
    const store = varietyStore();
    await pastRacyWindow();
    listRunsJsonText(store, {});
    const indexFile = join(store.root, RUN_INDEX_PATH);
    const written = fs.statSync(indexFile).mtimeMs;
    const served = indexedRunListing(store).filter((r) => r.stored).length;
    fs.mkdirSync(join(store.root, 'runs', 'run-13'));
    writeFileSync(join(store.root, 'runs', 'run-13', 'claim.json'), '{}');
    expect(indexedRunListing(store).filter((r) => r.stored).length, 'still served from the index').toBe(served);
    expect(listRunsJsonText(store, {}).join('')).toBe(await expected(store, {}));
    expect(fs.statSync(indexFile).mtimeMs, 'not rewritten').toBe(written);
    // Once the run writes its record, it is listed.
    store.writeRecordSync(runRecordPath('run-13'), record(13));
    expect(listRunsJsonText(store, {}).join('')).toBe(await expected(store, {}));
    expect(listRunsJsonText(store, {}).join('')).toContain('"id": "run-13"');
  });

  it('a hand-made index under digests that match is not served when its texts could not come from the records: a control byte (a terminal escape), a text without its separator, a run named twice, a non-ASCII text that is not JSON', async () => {
    const store = varietyStore();
    await pastRacyWindow();
    listRunsJsonText(store, {});
    const before = indexSections(store);
    const want = await expected(store, {});
    const texts = before.parts[1]!;
    const entries = JSON.parse(before.parts[0]!) as Array<{ name: string; textLength: number; ascii: boolean }>;
    const crafted: Array<[string, string[]]> = [
      // Same lengths as the real texts: only what they hold is wrong.
      ['escape', [before.parts[0]!, texts.replace('"durationMs": 20,', '"durationMs":\x1b[J,'), before.parts[2]!]],
      ['separator', [before.parts[0]!, `${texts.slice(0, entries[0]!.textLength)};\n${texts.slice(entries[0]!.textLength + 2)}`, before.parts[2]!]],
    ];
    const twice = [...entries];
    twice[1] = { ...twice[1]!, name: twice[0]!.name };
    crafted.push(['twice', [JSON.stringify(twice), texts, before.parts[2]!]]);
    const nonAscii = entries.findIndex((e) => !e.ascii);
    expect(nonAscii).toBeGreaterThanOrEqual(0);
    let at = 0;
    for (let i = 0; i < nonAscii; i++) at += entries[i]!.textLength + 2;
    const len = entries[nonAscii]!.textLength;
    crafted.push(['not JSON', [before.parts[0]!, texts.slice(0, at) + '{'.repeat(len) + texts.slice(at + len), before.parts[2]!]]);
    for (const [what, parts] of crafted) {
      expect(parts[0]! + parts[1]!, what).not.toBe(before.parts[0]! + before.parts[1]!);
      if (what !== 'twice') expect(parts[1]!.length, what).toBe(texts.length);
      writeSections(store, before.header, parts, 'fresh');
      const out = listRunsJsonText(store, {}).join('');
      expect(out, what).toBe(want);
      expect(out, what).not.toContain('\x1b');
    }
  });

  it('a texts section longer than the 64 KiB it is read through is served whole, and a defect past the first 64 KiB is found: a control byte, a byte outside ASCII, a separator across two reads', async () => {
    const store = LocalStore.open(join(tempDir('flowrun-listing-'), 'store'));
    // Long params make each text ~2 KB: 120 runs are ~4 reads of the section.
    const write = (n: number, pad: number) => store.writeRecordSync(runRecordPath(`run-${n}`), record(n, { params: { n, text: 'x'.repeat(2000 + pad) } }));
    for (let n = 1; n <= 120; n++) write(n, 0);
    await pastRacyWindow();
    listRunsJsonText(store, {});
    // The newest run's text made longer so that a text ends at byte 65535: its comma ends the first read, its newline starts the second.
    const ends = (JSON.parse(indexSections(store).parts[0]!) as Array<{ textLength: number }>).map((e) => e.textLength + 2).map((_, i, a) => a.slice(0, i + 1).reduce((x, y) => x + y, 0) - 2);
    write(120, 65535 - Math.max(...ends.filter((e) => e <= 65535)));
    await pastRacyWindow();
    listRunsJsonText(store, {});
    const want = await expected(store, {});
    const served = listRunsJsonText(store, {});
    expect(served.filter((p) => typeof p !== 'string').reduce((n, p) => n + (p as { byteLength: number }).byteLength, 0)).toBeGreaterThan(3 * 65536);
    expect(served.join('')).toBe(want);
    const before = indexSections(store);
    const texts = before.parts[1]!;
    const entries = JSON.parse(before.parts[0]!) as Array<{ textLength: number }>;
    // The separator after the text that ends nearest past 64 KiB + 1: its comma in one read, its newline in the next.
    let end = 0;
    for (const e of entries) {
      end += e.textLength;
      if (end >= 65535) break;
      end += 2;
    }
    const at = 70_000;
    const crafted: Array<[string, string]> = [
      ['control byte', `${texts.slice(0, at)}\x1b${texts.slice(at + 1)}`],
      ['outside ASCII', `${texts.slice(0, at)}\xe9${texts.slice(at + 1)}`],
      ['separator', `${texts.slice(0, end)},;${texts.slice(end + 2)}`],
    ];
    for (const [what, edited] of crafted) {
      expect(edited.length, what).toBe(texts.length);
      const parts = [before.parts[0]!, edited, before.parts[2]!];
      // Latin-1: one byte per character, as the index is read; digests that match.
      const sections = parts.map((p) => [p.length, createHash('sha256').update(p, 'latin1').digest('hex')]);
      writeFileSync(join(store.root, RUN_INDEX_PATH), `${JSON.stringify({ schema: before.header.schema, sections })}\n${parts.join('')}`, 'latin1');
      const out = listRunsJsonText(store, {}).join('');
      expect(out, what).toBe(want);
      expect(out, what).not.toContain('\x1b');
    }
    expect(end % 65536, 'the separator straddles two reads').toBe(65535);
  });

  it('an index whose text of a run disagrees with its record is not served: rebuilt when its digest does not match, reported by fsck when it does', async () => {
    const store = varietyStore();
    await pastRacyWindow();
    listRunsJsonText(store, {});
    const before = indexSections(store);
    const edited = before.parts[1]!.replace('"durationMs": 20,', '"durationMs": 99,');
    expect(edited).not.toBe(before.parts[1]);
    const parts = [before.parts[0]!, edited, before.parts[2]!];

    writeSections(store, before.header, parts, 'stale');
    // Readers of records do not read the texts (1.7 MB for 1,000 runs): their entries and records still serve.
    expect(indexedRunRecords(store).read).toBe(0);
    expect(listRunsJsonText(store, {}).join('')).toBe(await expected(store, {}));
    expect(indexSections(store).parts[1], 'rebuilt').toBe(before.parts[1]);

    // Under digests that match (written by hand): served as the index is trusted, but fsck finds it.
    writeSections(store, before.header, parts, 'fresh');
    const problems = (await fsck(store)).problems.filter((p) => p.code === 'STORE_INDEX_MISMATCH');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/flow runs --json` text of run-2 /);

    // So is a summary (what filters see) that disagrees with the record.
    const summaries = before.parts[0]!.replace(/("name":"run-10".*?"listed":)"running"/, '$1"ok"');
    expect(summaries).not.toBe(before.parts[0]);
    writeSections(store, before.header, [summaries, before.parts[1]!, before.parts[2]!], 'fresh');
    expect((await fsck(store)).problems.filter((p) => p.code === 'STORE_INDEX_MISMATCH').map((p) => p.message)).toEqual([expect.stringMatching(/a summary of run-10 /)]);
  });
});
