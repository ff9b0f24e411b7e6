import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Run } from '../../src/client/client.js';
import { isFlowError } from '../../src/errors/index.js';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import type { FsckReport } from '../../src/store/fsck.js';
import { LocalStore } from '../../src/store/local.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { LONG, printFigures } from './figures.js';

// Part 2 of the robustness suite (issue #9): every kind of store damage is found by `flow fsck`
// (its code, exit 3) and by every read path — `flow get`, the client API, `flow replay` — as a
// coded error or the right value, never a crash or a wrong value.
//
// A leftover temp file is the one kind that is *not* damage: DESIGN §5 promises that a run
// killed at any moment leaves a store fsck passes, and a kill mid-write leaves exactly such a
// file (no record names it, no reader sees it). fsck reports it as a note with its code,
// exit 0; `flow fsck --strict` (for a pristine-store check) exits 3 on it.

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const RUN = 'run-1';
const FILE = 'flows/robust-base.ts';

interface Ctx {
  dir: string;
  flowDir: string;
}
type Expect = { exit: 0; value?: true } | { exit: number; code: string };
interface Case {
  kind: string;
  damage: (c: Ctx) => void;
  fsck: { exit: number; code: string; note?: true };
  /** The artifact (step/name) the read paths ask for. */
  read: { step: string; name: string };
  get: Expect;
  client: Expect;
  replay: Expect;
}

const objectPath = (c: Ctx, hash: string) => join(c.flowDir, 'objects', hash.slice(0, 2), hash);
const taskPath = (c: Ctx, step: string) => join(c.flowDir, 'runs', RUN, 'tasks', step, '0.json');
const runPath = (c: Ctx) => join(c.flowDir, 'runs', RUN, 'run.json');
const task = (c: Ctx, step: string) => JSON.parse(readFileSync(taskPath(c, step), 'utf8')) as TaskRecord;
const artifactHash = (c: Ctx, step: string, name: string) => task(c, step).artifacts[name]!.hash;

function rewrite(path: string, edit: (b: Buffer) => Buffer | string): void {
  chmodSync(path, 0o644);
  writeFileSync(path, edit(readFileSync(path)));
}

function flip(b: Buffer, at: number): Buffer {
  b[at] = b[at]! ^ 0xff;
  return b;
}

/** Stores bytes as an object file with a chosen header (correct hash), as a buggy or newer writer might. */
function plant(c: Ctx, logical: Buffer, header: { version?: number; codec?: number } = {}): string {
  const hash = sha(logical);
  const codec = header.codec ?? 0;
  const payload = codec === 1 ? gzipSync(logical) : logical;
  mkdirSync(join(c.flowDir, 'objects', hash.slice(0, 2)), { recursive: true });
  writeFileSync(objectPath(c, hash), Buffer.concat([Buffer.from([0x46, 0x4f, header.version ?? 1, codec]), payload]));
  return hash;
}

/** Points a task's artifact at another object. */
function repoint(c: Ctx, step: string, name: string, hash: string): void {
  const t = task(c, step);
  t.artifacts[name] = { hash, size: 1 };
  writeFileSync(taskPath(c, step), JSON.stringify(t));
}

const ok: Expect = { exit: 0, value: true };
const corruptObj = (exit = 3): Expect => ({ exit, code: 'STORE_CORRUPT_OBJECT' });
const newer: Expect = { exit: 3, code: 'STORE_VERSION_UNSUPPORTED' };

const CASES: Case[] = [
  {
    kind: 'flipped byte in an object',
    damage: (c) => rewrite(objectPath(c, artifactHash(c, 'double', 'doubled')), (b) => flip(b, b.length - 2)),
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: corruptObj(),
    client: corruptObj(),
    replay: ok,
  },
  {
    kind: 'truncated object (gzip codec)',
    damage: (c) => rewrite(objectPath(c, artifactHash(c, 'start', 'text')), (b) => b.subarray(0, b.length >> 1)),
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'start', name: 'text' },
    get: corruptObj(),
    client: corruptObj(),
    replay: ok,
  },
  {
    kind: 'missing object',
    damage: (c) => rmSync(objectPath(c, artifactHash(c, 'start', 'x'))),
    fsck: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    read: { step: 'start', name: 'x' },
    get: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    client: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    replay: ok,
  },
  {
    kind: 'empty object file',
    damage: (c) => rewrite(objectPath(c, artifactHash(c, 'start', 'x')), () => Buffer.alloc(0)),
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'start', name: 'x' },
    // The replay stores the same bytes again, and a dedup hit on a damaged small object rewrites it.
    get: corruptObj(),
    client: corruptObj(),
    replay: ok,
  },
  {
    kind: 'truncated task record',
    damage: (c) => rewrite(taskPath(c, 'double'), (b) => b.subarray(0, b.length >> 1)),
    fsck: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    read: { step: 'double', name: 'doubled' },
    get: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    client: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    replay: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
  },
  {
    kind: 'truncated run record',
    damage: (c) => rewrite(runPath(c), (b) => b.subarray(0, b.length >> 1)),
    fsck: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    read: { step: 'double', name: 'doubled' },
    get: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    client: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    replay: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
  },
  {
    kind: 'record of the wrong shape (valid JSON, not a record)',
    damage: (c) => writeFileSync(taskPath(c, 'double'), JSON.stringify({ schema: 'flowrun.task/1', artifacts: 'none' })),
    fsck: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    read: { step: 'double', name: 'doubled' },
    get: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    client: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
    replay: { exit: 3, code: 'STORE_CORRUPT_RECORD' },
  },
  {
    kind: 'record referencing a missing object',
    damage: (c) => repoint(c, 'double', 'doubled', sha('never stored')),
    fsck: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    client: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    replay: { exit: 1, code: 'diverged' },
  },
  {
    kind: 'missing blob (large binary part of an artifact)',
    damage: (c) => rmSync(objectPath(c, sha(new Uint8Array(1 << 20).fill(7)))),
    fsck: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    read: { step: 'start', name: 'blob' },
    get: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    client: { exit: 3, code: 'STORE_MISSING_OBJECT' },
    replay: ok,
  },
  {
    kind: 'unknown format tag in an artifact document',
    damage: (c) => repoint(c, 'double', 'doubled', plant(c, Buffer.from('{"xyz":1,"v":"planted"}'))),
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: corruptObj(),
    client: corruptObj(),
    replay: { exit: 1, code: 'diverged' },
  },
  {
    kind: 'unknown codec byte in an object header',
    damage: (c) => repoint(c, 'double', 'doubled', plant(c, Buffer.from('{"fra":1,"v":"planted"}'), { codec: 9 })),
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: corruptObj(),
    client: corruptObj(),
    replay: { exit: 1, code: 'diverged' },
  },
  {
    kind: 'store written by a newer format version',
    damage: (c) => rewrite(join(c.flowDir, 'FORMAT'), () => JSON.stringify({ format: 'flowrun-store', version: 99 })),
    fsck: { exit: 3, code: 'STORE_VERSION_UNSUPPORTED' },
    read: { step: 'double', name: 'doubled' },
    get: newer,
    client: newer,
    replay: newer,
  },
  {
    kind: 'object written by a newer object format',
    damage: (c) => repoint(c, 'double', 'doubled', plant(c, Buffer.from('{"fra":1,"v":"planted"}'), { version: 7 })),
    fsck: { exit: 3, code: 'STORE_VERSION_UNSUPPORTED' },
    read: { step: 'double', name: 'doubled' },
    get: newer,
    client: newer,
    replay: { exit: 1, code: 'diverged' },
  },
  {
    kind: 'artifact written by a newer artifact format',
    damage: (c) => repoint(c, 'double', 'doubled', plant(c, Buffer.from('{"fra":5,"v":"planted"}'))),
    fsck: { exit: 3, code: 'STORE_VERSION_UNSUPPORTED' },
    read: { step: 'double', name: 'doubled' },
    get: newer,
    client: newer,
    replay: { exit: 1, code: 'diverged' },
  },
  {
    kind: 'record written by a newer record schema',
    damage: (c) => {
      const t = task(c, 'double');
      writeFileSync(taskPath(c, 'double'), JSON.stringify({ ...t, schema: 'flowrun.task/2' }));
    },
    fsck: { exit: 3, code: 'STORE_VERSION_UNSUPPORTED' },
    read: { step: 'double', name: 'doubled' },
    get: newer,
    client: newer,
    replay: newer,
  },
  {
    kind: 'object unreadable (a directory in its place)',
    damage: (c) => {
      const p = objectPath(c, artifactHash(c, 'double', 'doubled'));
      rmSync(p);
      mkdirSync(p);
    },
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: corruptObj(),
    client: corruptObj(),
    replay: corruptObj(1),
  },
  {
    kind: 'corrupt code package (replay needs it)',
    damage: (c) => {
      const rec = JSON.parse(readFileSync(runPath(c), 'utf8')) as RunRecord;
      rewrite(objectPath(c, rec.code!.hash), (b) => flip(b, b.length >> 1));
    },
    fsck: { exit: 3, code: 'STORE_CORRUPT_OBJECT' },
    read: { step: 'double', name: 'doubled' },
    get: ok,
    client: ok,
    replay: { exit: 3, code: 'REPLAY_SNAPSHOT_MISSING' },
  },
  {
    kind: 'leftover temp file from a killed write (a note, DESIGN §5)',
    damage: (c) => {
      mkdirSync(join(c.flowDir, 'objects/ab'), { recursive: true });
      writeFileSync(join(c.flowDir, 'objects/ab/.tmp-0123456789abcdef'), 'partial');
    },
    fsck: { exit: 0, code: 'STORE_LEFTOVER_TEMP', note: true },
    read: { step: 'double', name: 'doubled' },
    get: ok,
    client: ok,
    replay: ok,
  },
];

let base: { dir: string; values: Map<string, string> };

beforeAll(async () => {
  const dir = await tempProject();
  copyFlow(dir, 'robust-base.ts');
  const r = await flow(['run', FILE, '-q', '--seed', '1'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  const values = new Map<string, string>();
  for (const [step, name] of [
    ['double', 'doubled'],
    ['start', 'text'],
    ['start', 'x'],
    ['start', 'blob'],
  ] as const) {
    values.set(`${step}/${name}`, (await flow(['get', `${RUN}/${step}/0`, name, '--json'], { cwd: dir })).stdout);
  }
  base = { dir, values };
}, 60_000);

/** A fresh copy of the base project (store included) to damage. */
function copyProject(): Ctx {
  const dir = join(tempDir(), 'p');
  cpSync(base.dir, dir, { recursive: true, verbatimSymlinks: true });
  return { dir, flowDir: join(dir, '.flow') };
}

/** replay is undefined when this kind was not replayed (CI mode). */
interface Outcome {
  kind: string;
  fsck: boolean;
  get: boolean;
  client: boolean;
  replay: boolean | undefined;
}

function cliMatches(r: { exitCode: number; stdout: string; stderr: string }, e: Expect, good: string | undefined): boolean {
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) return false; // a stack trace is a crash
  if (r.exitCode !== e.exit) return false;
  if ('code' in e) return (r.stdout + r.stderr).includes(e.code);
  return good === undefined || r.stdout === good;
}

async function check(c: Case): Promise<Outcome> {
  const ctx = copyProject();
  c.damage(ctx);
  const spec = `${RUN}/${c.read.step}/0`;
  // The client reads first: a replay may rewrite a missing object (it is content-addressed).
  const client = await readWithClient(ctx, c);
  const [fsckOut, fsckStrict, get] = await Promise.all([flow(['fsck', '--json'], { cwd: ctx.dir }), c.fsck.note ? flow(['fsck', '--strict'], { cwd: ctx.dir }) : Promise.resolve({ exitCode: 3 }), flow(['get', spec, c.read.name, '--json'], { cwd: ctx.dir })]);
  // A replay costs a whole run: CI replays the kinds whose damage a replay reads (and the temp
  // file); --long replays every kind.
  if (!LONG && c.replay === ok && !c.fsck.note) return finish(c, fsckOut, fsckStrict, get, client, undefined);
  const replay = await flow(['replay', RUN, '--max-workers', '1'], { cwd: ctx.dir });
  return finish(c, fsckOut, fsckStrict, get, client, replay);
}

type Cli = { exitCode: number; stdout: string; stderr: string };

function finish(c: Case, fsckOut: Cli, fsckStrict: { exitCode: number }, get: Cli, client: ClientResult, replay: Cli | undefined): Outcome {
  let fsckOk = fsckOut.exitCode === c.fsck.exit;
  if (c.fsck.exit === 3 && fsckOut.exitCode !== 3) fsckOk = false;
  if (fsckOut.stdout.startsWith('{')) {
    const report = JSON.parse(fsckOut.stdout) as FsckReport | { error: { code: string } };
    const codes = 'error' in report ? [report.error.code] : (c.fsck.note ? report.notes : report.problems).map((p) => p.code);
    fsckOk &&= codes.includes(c.fsck.code);
  } else fsckOk = false;
  fsckOk &&= fsckStrict.exitCode === 3; // --strict fails on notes too (problems always fail)
  const replayOk = replay === undefined ? undefined : cliMatches(replay, c.replay.exit === 1 && 'code' in c.replay && c.replay.code === 'diverged' ? { exit: 1, code: 'did NOT reproduce' } : c.replay, undefined);
  const outcome = { kind: c.kind, fsck: fsckOk, get: cliMatches(get, c.get, base.values.get(`${c.read.step}/${c.read.name}`)), client: clientMatches(client, c.client), replay: replayOk };
  if (!outcome.fsck || !outcome.get || !outcome.client || outcome.replay === false) {
    console.log(c.kind, { fsck: fsckOut, strict: fsckStrict.exitCode, get, client, replay: replay && { exitCode: replay.exitCode, stdout: replay.stdout.slice(-400), stderr: replay.stderr.slice(-600) } });
  }
  return outcome;
}

type ClientResult = { value: unknown } | { error: unknown };

async function readWithClient(ctx: Ctx, c: Case): Promise<ClientResult> {
  try {
    const run = await Run.open(LocalStore.open(ctx.flowDir), RUN);
    return { value: await run.step(c.read.step).task('0').artifact(c.read.name) };
  } catch (error) {
    return { error };
  }
}

function clientMatches(r: ClientResult, e: Expect): boolean {
  if ('error' in r) return 'code' in e && isFlowError(r.error) && r.error.code === e.code && r.error.exitCode === e.exit;
  return e.exit === 0;
}

describe('corruption matrix', () => {
  it(`detects ${CASES.length} kinds of store damage in fsck and every read path`, async () => {
    const outcomes: Outcome[] = [];
    // Three cases at a time: CI has two cores.
    for (let i = 0; i < CASES.length; i += 3) outcomes.push(...(await Promise.all(CASES.slice(i, i + 3).map(check))));
    const count = (k: keyof Omit<Outcome, 'kind'>) => outcomes.filter((o) => o[k]).length;
    const replayed = outcomes.filter((o) => o.replay !== undefined).length;
    const detected = outcomes.filter((o) => o.fsck && o.get && o.client && o.replay !== false).length;
    printFigures('corruption matrix (flow fsck, flow get, client API, flow replay)', [
      ['kinds of damage', CASES.length],
      ['found by fsck (right code, exit)', `${count('fsck')}/${CASES.length}`],
      ['flow get: coded error or right value', `${count('get')}/${CASES.length}`],
      ['client API: coded error or right value', `${count('client')}/${CASES.length}`],
      ['flow replay: coded error or right verdict', `${count('replay')}/${replayed}${replayed < CASES.length ? ' (kinds a replay reads; --long: all)' : ''}`],
      ['detected on every path', `${detected}/${CASES.length}`],
    ]);
    expect(outcomes.filter((o) => !(o.fsck && o.get && o.client && o.replay !== false))).toEqual([]);
  }, 240_000);
});
