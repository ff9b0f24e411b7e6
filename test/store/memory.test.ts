import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import { LocalStore } from '../../src/store/local.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { sha256 } from '../../src/util/hash.js';
import { tempDir } from '../helpers/cli.js';
import { expectStoreError, rejection, storeConformance } from './conformance.js';
import { syncStoreConformance } from './sync-conformance.js';
import { gcConformance } from './gc-conformance.js';

// Every conformance case applies: the suite uses nothing but the Store interface (no file paths,
// no permissions), so none is skipped for memory.
storeConformance('MemoryStore', async () => new MemoryStore());
gcConformance('MemoryStore', 'one-pass', async () => new MemoryStore());
syncStoreConformance('MemoryStore', async () => new MemoryStore());

describe('MemoryStore: test hooks', () => {
  it('corruptObjectForTest makes getObject fail with STORE_CORRUPT_OBJECT, empty objects too', async () => {
    const store = new MemoryStore();
    for (const data of [Buffer.from('artifact bytes'), Buffer.alloc(0), randomBytes(100 << 10)]) {
      const hash = await store.putObject(data);
      store.corruptObjectForTest(hash);
      expectStoreError(await rejection(store.getObject(hash)), 'STORE_CORRUPT_OBJECT');
      expect(await store.hasObject(hash)).toBe(true);
    }
  });

  it('storing the same small bytes again repairs a damaged object; a big one stays damaged, as on disk', async () => {
    const store = new MemoryStore();
    const small = Buffer.from('small enough to verify on a dedup hit');
    const big = randomBytes((64 << 10) + 1);
    const [hs, hb] = [await store.putObject(small), await store.putObject(big)];
    store.corruptObjectForTest(hs);
    store.corruptObjectForTest(hb);
    expect(await store.putObject(small)).toBe(hs);
    expect(await store.putObject(big)).toBe(hb);
    expect((await store.getObject(hs)).equals(small)).toBe(true);
    expectStoreError(await rejection(store.getObject(hb)), 'STORE_CORRUPT_OBJECT');
  });

  it('deleteObjectForTest makes getObject fail with STORE_MISSING_OBJECT', async () => {
    const store = new MemoryStore();
    const hash = await store.putObject(Buffer.from('lost'));
    store.deleteObjectForTest(hash);
    expect(await store.hasObject(hash)).toBe(false);
    expectStoreError(await rejection(store.getObject(hash)), 'STORE_MISSING_OBJECT');
  });

  it('the hooks refuse a hash that is not stored (a test bug, not a store state)', () => {
    const store = new MemoryStore();
    expect(() => store.corruptObjectForTest(sha256(Buffer.from('x')))).toThrow(/not stored/);
    expect(() => store.deleteObjectForTest(sha256(Buffer.from('x')))).toThrow(/not stored/);
  });
});

/** What an operation did: its value, or the code (or class) of what it threw. */
async function outcome(op: () => Promise<unknown>): Promise<{ value: unknown } | { error: string }> {
  try {
    const value = await op();
    return { value: Buffer.isBuffer(value) ? value.toString('hex') : value };
  } catch (e) {
    return { error: isFlowError(e) ? `${e.name}:${e.code}` : (e as Error).constructor.name };
  }
}

describe('MemoryStore fails where and as the local store does', () => {
  // Each step runs on a fresh local store and a fresh memory store in turn; their outcomes must match.
  const missing = sha256(Buffer.from('never stored'));
  const steps: [string, (s: Store) => Promise<unknown>][] = [
    ['put', (s) => s.putObject(Buffer.from('one'))],
    ['get a missing object', (s) => s.getObject(missing)],
    ['get a path as an object', (s) => s.getObject('../FORMAT')],
    ['get an upper-case id', (s) => s.getObject('A'.repeat(64))],
    ['has a path', (s) => s.hasObject('../FORMAT')],
    ['read the store marker', (s) => s.readRecord('FORMAT')],
    ['write a record', (s) => s.writeRecord('runs/run-1/run.json', { id: 1 })],
    ['write under a record', (s) => s.writeRecord('runs/run-1/run.json/x.json', {})],
    ['create under a record', (s) => s.createRecord('runs/run-1/run.json/x.json', {})],
    ['read under a record', (s) => s.readRecord('runs/run-1/run.json/x.json')],
    ['list a record', (s) => s.listRecords('runs/run-1/run.json')],
    ['write over a directory', (s) => s.writeRecord('runs/run-1', {})],
    ['create over a directory', (s) => s.createRecord('runs/run-1', {})],
    ['read a directory', (s) => s.readRecord('runs/run-1')],
    ['list with a trailing slash', (s) => s.listRecords('runs/')],
    ['write a dot name', (s) => s.writeRecord('runs/run-1/.hidden.json', { h: 1 })],
    ['list hides dot names', (s) => s.listRecords('runs/run-1')],
    ['read a dot name', (s) => s.readRecord('runs/run-1/.hidden.json')],
    ['write undefined', (s) => s.writeRecord('runs/run-1/u.json', undefined)],
    ['create undefined', (s) => s.createRecord('runs/run-1/u.json', undefined)],
    ['read after the failed writes', (s) => s.readRecord('runs/run-1/u.json')],
    ...['../escape.json', '/abs.json', 'runs/../x.json', 'runs//x.json', 'runs/./x.json', 'a\\b.json', 'nul\0.json', '', '/'].flatMap((p): [string, (s: Store) => Promise<unknown>][] => [
      [`read ${JSON.stringify(p)}`, (s) => s.readRecord(p)],
      [`write ${JSON.stringify(p)}`, (s) => s.writeRecord(p, {})],
      [`create ${JSON.stringify(p)}`, (s) => s.createRecord(p, {})],
      [`list ${JSON.stringify(p)}`, (s) => s.listRecords(p)],
    ]),
  ];

  it('for ids, record paths, clashes between records and directories, and unstorable values', async () => {
    const run = async (store: Store) => {
      const out: Record<string, unknown> = {};
      for (const [label, step] of steps) out[label] = await outcome(() => step(store));
      return out;
    };
    const local = await run(LocalStore.open(tempDir('flowrun-store-')));
    const memory = await run(new MemoryStore());
    expect(memory).toStrictEqual(local);
    // The comparison is only worth something if the steps do fail in the ways named.
    expect(local['get a missing object']).toEqual({ error: 'StoreError:STORE_MISSING_OBJECT' });
    expect(local['write under a record']).toEqual({ error: 'StoreError:STORE_PERMISSION' });
    expect(local['read "../escape.json"']).toEqual({ error: 'StoreError:STORE_CORRUPT_RECORD' });
  });
});
