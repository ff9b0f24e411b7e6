import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import { LocalStore, STORE_FORMAT } from '../../src/store/local.js';
import { REPO, tempDir } from '../helpers/cli.js';
import { expectStoreError, rejection, storeConformance } from './conformance.js';
import { syncStoreConformance } from './sync-conformance.js';
import { gcConformance } from './gc-conformance.js';

storeConformance('LocalStore', async () => LocalStore.open(tempDir('flowrun-store-')));
gcConformance('LocalStore', 'one-pass', async () => LocalStore.open(tempDir('flowrun-store-')));
syncStoreConformance('LocalStore', async () => LocalStore.open(tempDir('flowrun-store-')));

/** A fresh store in a temp dir (removed after the test). */
function freshStore(): LocalStore {
  return LocalStore.open(join(tempDir('flowrun-store-'), 'store'));
}

/** Overwrites an object file (they are read-only, 0o444). */
function overwrite(path: string, data: Uint8Array): void {
  chmodSync(path, 0o644);
  writeFileSync(path, data);
}

/** Every file and directory under `dir`, relative to it. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    out.push(relative(dir, full));
    if (lstatSync(full).isDirectory()) out.push(...walk(full).map((p) => join(name, p)));
  }
  return out.sort();
}

describe('LocalStore: damaged objects', () => {
  const compressible = Buffer.alloc(64 << 10, 'the same words again and again; ');
  const random = randomBytes(64 << 10);
  /** Compressible but not periodic, so most deflate damage changes the decoded bytes. */
  const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i}: ${(i * 7919) % 10007}`).join('\n'));

  async function stored(data: Buffer): Promise<{ store: LocalStore; hash: string; path: string; file: Buffer }> {
    const store = freshStore();
    const hash = await store.putObject(data);
    const path = store.objectPath(hash);
    return { store, hash, path, file: readFileSync(path) };
  }

  it('a flipped payload byte in a raw object is STORE_CORRUPT_OBJECT', async () => {
    for (const at of [(_n: number) => 4, (n: number) => Math.floor(n / 2), (n: number) => n - 1]) {
      const { store, hash, path, file } = await stored(random);
      const bad = Buffer.from(file);
      const i = at(bad.length);
      bad[i] = bad[i]! ^ 0x01;
      overwrite(path, bad);
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
    }
  });

  it('a flipped byte anywhere in a gzip object is STORE_CORRUPT_OBJECT or harmless, never wrong bytes', async () => {
    // Some gzip bytes (header mtime/OS, or a match distance in periodic data) do not change the
    // decoded content; the hash check then rightly accepts it. Anything else must be refused.
    const { store, hash, path, file } = await stored(text);
    expect(file[3]).toBe(1);
    let refused = 0;
    for (let k = 0; k < 64; k++) {
      const i = 4 + Math.floor(((file.length - 4) * k) / 64);
      const bad = Buffer.from(file);
      bad[i] = bad[i]! ^ 0x10;
      overwrite(path, bad);
      try {
        expect((await store.getObject(hash)).equals(text), `byte ${i}`).toBe(true);
      } catch (e) {
        if (!isFlowError(e)) throw e;
        expectStoreError(e, 'STORE_CORRUPT_OBJECT');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(48);
    for (const i of [4, Math.floor(file.length / 2), file.length - 5, file.length - 1]) {
      const bad = Buffer.from(file);
      bad[i] = bad[i]! ^ 0x01;
      overwrite(path, bad);
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
    }
  });

  it('a damaged header (magic or codec) is STORE_CORRUPT_OBJECT; a newer object version is STORE_VERSION_UNSUPPORTED', async () => {
    const { store, hash, path, file } = await stored(random);
    for (const [i, v] of [
      [0, 0x00],
      [1, 0x58],
      [3, 7],
    ] as const) {
      const bad = Buffer.from(file);
      bad[i] = v;
      overwrite(path, bad);
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
    }
    const newer = Buffer.from(file);
    newer[2] = 9;
    overwrite(path, newer);
    expectStoreError(await rejection(store.getObject(hash)), 'STORE_VERSION_UNSUPPORTED');
  });

  it.each([
    ['raw', random],
    ['gzip', compressible],
  ])('a truncated %s object is STORE_CORRUPT_OBJECT', async (_codec, data) => {
    for (const keep of [(n: number) => n - 1, (n: number) => Math.floor(n / 2), () => 4, () => 2]) {
      const { store, hash, path, file } = await stored(data);
      chmodSync(path, 0o644);
      truncateSync(path, keep(file.length));
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
    }
  });

  it('an empty object file is STORE_CORRUPT_OBJECT (also for the empty object)', async () => {
    for (const data of [random, Buffer.alloc(0)]) {
      const { store, hash, path } = await stored(data);
      overwrite(path, Buffer.alloc(0));
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
    }
  });

  it("a valid object file under another hash's name is STORE_CORRUPT_OBJECT", async () => {
    const { store, hash, path } = await stored(random);
    const other = await store.putObject(Buffer.from('a different object'));
    overwrite(path, readFileSync(store.objectPath(other)));
    expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
  });
});

describe('LocalStore: records and FORMAT', () => {
  it.each([
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['invalid', () => '{not json'],
    ['empty', () => ''],
  ])('a %s JSON record is STORE_CORRUPT_RECORD', async (_kind, damage) => {
    const store = freshStore();
    await store.writeRecord('runs/run-1/run.json', { flow: 'Train', tasks: Array.from({ length: 20 }, (_, i) => ({ i })) });
    const path = join(store.root, 'runs/run-1/run.json');
    writeFileSync(path, damage(readFileSync(path, 'utf8')));
    expectStoreError(await rejection(store.readRecord('runs/run-1/run.json')), 'STORE_CORRUPT_RECORD');
  });

  it('open creates FORMAT on first use and reopens it', () => {
    const root = join(tempDir(), 'new-store');
    LocalStore.open(root);
    expect(JSON.parse(readFileSync(join(root, 'FORMAT'), 'utf8'))).toEqual(STORE_FORMAT);
    expect(LocalStore.open(root).root).toBe(root);
  });

  it('open refuses a store written by a newer flowrun (FORMAT version 99) and leaves it alone', () => {
    const root = tempDir();
    const format = JSON.stringify({ format: 'flowrun-store', version: 99 });
    writeFileSync(join(root, 'FORMAT'), format);
    let err: unknown;
    try {
      LocalStore.open(root);
    } catch (e) {
      err = e;
    }
    expectStoreError(err, 'STORE_VERSION_UNSUPPORTED');
    expect(readFileSync(join(root, 'FORMAT'), 'utf8')).toBe(format);
  });

  it.each([
    ['garbage', 'not json at all'],
    ['another format', JSON.stringify({ format: 'restic', version: 1 })],
    ['no version', JSON.stringify({ format: 'flowrun-store' })],
  ])('open refuses a FORMAT file with %s as STORE_CORRUPT_RECORD', (_kind, text) => {
    const root = tempDir();
    writeFileSync(join(root, 'FORMAT'), text);
    let err: unknown;
    try {
      LocalStore.open(root);
    } catch (e) {
      err = e;
    }
    expectStoreError(err, 'STORE_CORRUPT_RECORD');
  });
});

describe('LocalStore: on-disk layout', () => {
  it('stores objects as objects/<2 hex>/<hash> with the FO header, read-only (0o444)', async () => {
    const store = freshStore();
    for (const data of [Buffer.from('tiny'), Buffer.alloc(0), randomBytes(8192), Buffer.alloc(8192, 7)]) {
      const hash = await store.putObject(data);
      const path = store.objectPath(hash);
      expect(path).toBe(join(store.root, 'objects', hash.slice(0, 2), hash));
      expect(statSync(path).mode & 0o777).toBe(0o444);
      expect([...readFileSync(path).subarray(0, 3)]).toEqual([0x46, 0x4f, 1]);
    }
  });

  it('stores compressible data gzip (file smaller than the data) and random data raw', async () => {
    const store = freshStore();
    const text = Buffer.alloc(256 << 10, 'abcabcabc flowrun ');
    const zFile = readFileSync(store.objectPath(await store.putObject(text)));
    expect(zFile[3]).toBe(1);
    expect(zFile.length).toBeLessThan(text.length / 10);

    const random = randomBytes(256 << 10);
    const rFile = readFileSync(store.objectPath(await store.putObject(random)));
    expect(rFile[3]).toBe(0);
    expect(rFile.length).toBe(random.length + 4);
    expect(rFile.subarray(4).equals(random)).toBe(true);

    const noCompress = Buffer.alloc(256 << 10, 'xyz');
    const nFile = readFileSync(store.objectPath(await store.putObject(noCompress, { compress: false })));
    expect(nFile[3]).toBe(0);
    expect(nFile.length).toBe(noCompress.length + 4);
  });

  it('leaves no temp files behind after writes', async () => {
    const store = freshStore();
    for (let i = 0; i < 10; i++) await store.putObject(Buffer.alloc(4096 * (i + 1), i));
    await store.putObject(Buffer.alloc(4096, 0));
    await Promise.all(Array.from({ length: 8 }, () => store.putObject(Buffer.from('dup'))));
    await store.writeRecord('runs/run-1/run.json', { a: 1 });
    await store.writeRecord('runs/run-1/run.json', { a: 2 });
    await store.createRecord('runs/run-1/claim', { me: 1 });
    await store.createRecord('runs/run-1/claim', { me: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.createRecord('runs/next', { i })));
    const leftovers = walk(store.root).filter((p) => /tmp/i.test(basename(p)));
    expect(leftovers).toEqual([]);
  });

  it('ignores temp files a crash left behind when listing objects and records', async () => {
    const store = freshStore();
    const hash = await store.putObject(Buffer.from('real'));
    await store.writeRecord('runs/run-1.json', { a: 1 });
    // What a SIGKILL between "write temp" and "rename/link" leaves, for each write path.
    writeFileSync(join(store.root, 'objects', hash.slice(0, 2), '.tmp-0123456789abcdef'), 'partial');
    writeFileSync(join(store.root, 'runs', '.tmp-0123456789abcdef'), '{"partial"');
    writeFileSync(join(store.root, 'runs', '.run-2.json.tmp-0123456789ab'), '{"partial"');
    const objects: string[] = [];
    for await (const h of store.listObjects()) objects.push(h);
    expect(objects).toEqual([hash]);
    expect(await store.listRecords('runs')).toEqual(['run-1.json']);
  });
});

describe('LocalStore: unwritable stores give clear typed errors', () => {
  it('a store root that is a regular file', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'I am a file');
    let openErr: unknown;
    try {
      LocalStore.open(file);
    } catch (e) {
      openErr = e;
    }
    expectTypedStoreError(openErr, file);

    const store = new LocalStore(file);
    expectTypedStoreError(await rejection(store.putObject(Buffer.from('x'))), file);
    expectTypedStoreError(await rejection(store.writeRecord('runs/run-1.json', { a: 1 })), file);
    expectTypedStoreError(await rejection(store.createRecord('runs/run-1.json', { a: 1 })), file);
    // Reads of a store that cannot exist are simply empty/absent.
    expect(await store.readRecord('runs/run-1.json')).toBeUndefined();
    expect(await store.hasObject('0'.repeat(64))).toBe(false);
  });

  it('a store whose objects/ and runs/ directories are not writable (chmod 0o500) gives STORE_PERMISSION', async (ctx) => {
    const base = tempDir();
    chmodSync(base, 0o711);
    const root = join(base, 'store');
    const store = LocalStore.open(root);
    const existing = await store.putObject(Buffer.from('already here'));
    await store.writeRecord('runs/run-1.json', { a: 1 });

    // Tests run as root here, and root ignores permission bits (CAP_DAC_OVERRIDE): chmod alone
    // would prove nothing. So the scenario runs in a child process, as uid/gid 65534 (nobody)
    // owning the store when we are root, else as ourselves.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownTree(root, 65534, 65534);
    const locked = ['objects', join('objects', existing.slice(0, 2)), 'runs'].map((d) => join(root, d));
    for (const dir of locked) chmodSync(dir, 0o500);

    const bundle = join(base, 'local-store.mjs');
    buildSync({ entryPoints: [resolve(REPO, 'src/store/local.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent' });
    const script = join(base, 'scenario.mjs');
    writeFileSync(script, SCENARIO);
    chmodSync(bundle, 0o644);
    chmodSync(script, 0o644);
    let child;
    try {
      child = spawnSync(process.execPath, [script, root, existing], {
        encoding: 'utf8',
        timeout: 10_000,
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      });
    } finally {
      for (const dir of locked) chmodSync(dir, 0o700);
    }
    if (child.error) return ctx.skip(`cannot run the scenario as an unprivileged user: ${child.error.message}`);
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout) as { enforced: boolean; results: Record<string, Outcome> };
    if (!result.enforced) return ctx.skip('permission bits are not enforced for this user (e.g. root or a filesystem without permissions)');

    const { putObject, writeRecord, createRecord, getObject, readRecord, hasObject } = result.results;
    for (const [op, outcome] of Object.entries({ putObject, writeRecord, createRecord })) {
      expect(outcome, op).toMatchObject({ ok: false, name: 'StoreError', code: 'STORE_PERMISSION', exitCode: 3 });
      expect(outcome?.message, op).toContain(root);
    }
    // A read-only store is still readable.
    expect(getObject).toEqual({ ok: true, value: 'already here' });
    expect(readRecord).toEqual({ ok: true, value: JSON.stringify({ a: 1 }) });
    expect(hasObject).toEqual({ ok: true, value: 'true' });
  });
});

interface Outcome {
  ok: boolean;
  value?: string;
  name?: string;
  code?: string;
  exitCode?: number;
  message?: string;
}

/** Runs in a child process: argv = [root, existing object hash]; prints { enforced, results }. */
const SCENARIO = `
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore } from './local-store.mjs';
const [root, existing] = process.argv.slice(2);
let enforced = false;
try { writeFileSync(join(root, 'objects', 'probe'), ''); rmSync(join(root, 'objects', 'probe')); } catch (e) { enforced = e.code === 'EACCES'; }
const store = new LocalStore(root);
const results = {};
async function run(op, f) {
  try { const v = await f(); results[op] = { ok: true, value: Buffer.isBuffer(v) ? v.toString() : typeof v === 'object' ? JSON.stringify(v) : String(v) }; }
  catch (e) { results[op] = { ok: false, name: e.name, code: e.code, exitCode: e.exitCode, message: e.message }; }
}
await run('putObject', () => store.putObject(Buffer.from('a new object ' + Date.now())));
await run('writeRecord', () => store.writeRecord('runs/run-2.json', { b: 2 }));
await run('createRecord', () => store.createRecord('runs/run-3.json', { c: 3 }));
await run('getObject', () => store.getObject(existing));
await run('readRecord', () => store.readRecord('runs/run-1.json'));
await run('hasObject', () => store.hasObject(existing));
process.stdout.write(JSON.stringify({ enforced, results }));
`;

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

/** A StoreError (exit code 3) whose message names the store path: not a bare ENOTDIR from fs. */
function expectTypedStoreError(err: unknown, path: string): void {
  expect(isFlowError(err), `expected a StoreError, got ${String(err)}`).toBe(true);
  if (!isFlowError(err)) return;
  expect(err.name).toBe('StoreError');
  expect(err.exitCode).toBe(3);
  expect(err.code).toMatch(/^STORE_/);
  expect(err.message).toContain(path);
}

describe('LocalStore repairs on a dedup hit', () => {
  it('storing the same small bytes again replaces a damaged copy', async () => {
    const store = LocalStore.open(tempDir());
    const data = Buffer.from('a small artifact worth keeping');
    const hash = store.putObjectSync(data);
    const path = store.objectPath(hash);
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(path, bytes);
    expect(() => store.getObjectSync(hash)).toThrow(/corrupt/);
    expect(store.putObjectSync(Buffer.from(data))).toBe(hash);
    expect(store.getObjectSync(hash).equals(data)).toBe(true);
  });
});
