import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SyncStore } from '../../src/store/types.js';
import { expectStoreError } from './conformance.js';

/**
 * Behaviours of the synchronous capability (SyncStore), on top of the Store suite: the sync
 * methods keep the async contract, both views see one store, and a consumer typed against
 * SyncStore gets the same answers and errors from every medium that has it (local, memory).
 *
 * @example
 * syncStoreConformance('MemoryStore', async () => new MemoryStore());
 */
export function syncStoreConformance(name: string, make: () => Promise<SyncStore>): void {
  describe(`SyncStore conformance: ${name}`, () => {
    it('putObjectSync returns the sha256 of the bytes; the async view reads them back, and the reverse', async () => {
      const store = await make();
      for (const data of [Buffer.from('sync bytes'), Buffer.alloc(0), randomBytes(200 << 10), Buffer.alloc(64 << 10, 'zip ')]) {
        const hash = store.putObjectSync(data);
        expect(hash).toBe(sha256(data));
        expect((await store.getObject(hash)).equals(data)).toBe(true);
        expect(store.putObjectSync(data, { compress: false })).toBe(hash);
      }
      const later = await store.putObject(Buffer.from('async bytes'));
      const back = store.getObjectSync(later);
      expect(Buffer.isBuffer(back) && back.equals(Buffer.from('async bytes'))).toBe(true);
    });

    it('a caller mutating what it put or got changes nothing stored', async () => {
      const store = await make();
      const data = Buffer.from('do not touch');
      const hash = store.putObjectSync(data);
      data[0] = 0;
      store.getObjectSync(hash)[1] = 0;
      expect(store.getObjectSync(hash).toString()).toBe('do not touch');
    });

    it('hasObjectSync agrees with hasObject, and is false for what is not an object id', async () => {
      const store = await make();
      const hash = store.putObjectSync(Buffer.from('here'));
      const absent = sha256(Buffer.from('not here'));
      expect([store.hasObjectSync(hash), store.hasObjectSync(absent)]).toEqual([true, false]);
      expect([await store.hasObject(hash), await store.hasObject(absent)]).toEqual([true, false]);
      for (const bad of ['', 'abc', `../${hash.slice(3)}`, hash.toUpperCase()]) expect(store.hasObjectSync(bad)).toBe(false);
    });

    it('getObjectSync throws STORE_MISSING_OBJECT for an absent object and STORE_CORRUPT_RECORD for a non-id', async () => {
      const store = await make();
      expectStoreError(
        thrown(() => store.getObjectSync(sha256(Buffer.from('never stored')))),
        'STORE_MISSING_OBJECT',
      );
      expectStoreError(
        thrown(() => store.getObjectSync('../../etc/passwd')),
        'STORE_CORRUPT_RECORD',
      );
    });

    it('records written sync read back async and the reverse; absent is undefined; durable writes too', async () => {
      const store = await make();
      const value = { run: 'run-1', n: 3, nested: { list: [1, 'two', null] }, text: 'ünïcödé' };
      store.writeRecordSync('runs/run-1/run.json', value);
      expect(await store.readRecord('runs/run-1/run.json')).toEqual(value);
      await store.writeRecord('runs/run-2/run.json', { n: 2 });
      expect(store.readRecordSync('runs/run-2/run.json')).toEqual({ n: 2 });
      store.writeRecordSync('runs/run-2/run.json', { n: 22 }, true);
      expect(store.readRecordSync('runs/run-2/run.json')).toEqual({ n: 22 });
      expect(store.readRecordSync('runs/run-3/run.json')).toBeUndefined();
    });

    it('listRecordsSync gives what listRecords gives: sorted names directly under a directory, [] when absent', async () => {
      const store = await make();
      for (const p of ['runs/run-10/run.json', 'runs/run-2/run.json', 'runs/run-2/tasks/a/1.json', 'runs/run-1/run.json']) store.writeRecordSync(p, {});
      expect(store.listRecordsSync('runs')).toEqual(['run-1', 'run-10', 'run-2']);
      expect(store.listRecordsSync('runs/run-2')).toEqual(await store.listRecords('runs/run-2'));
      expect(store.listRecordsSync('runs/run-2')).toEqual(['run.json', 'tasks']);
      expect(store.listRecordsSync('nowhere')).toEqual([]);
    });

    it('createRecordSync creates once: false, and the first value kept, when the record exists', async () => {
      const store = await make();
      expect(store.createRecordSync('claims/run-7', { by: 'first' })).toBe(true);
      expect(store.createRecordSync('claims/run-7', { by: 'second' })).toBe(false);
      expect(await store.createRecord('claims/run-7', { by: 'third' })).toBe(false);
      expect(store.readRecordSync('claims/run-7')).toEqual({ by: 'first' });
    });

    it('deleteRecordSync removes a record, is quiet when it is absent, and takes its directory only with its last record', async () => {
      const store = await make();
      store.writeRecordSync('cache/k1/a.json', { a: 1 });
      store.writeRecordSync('cache/k1/b.json', { b: 1 });
      store.writeRecordSync('cache/k2/c.json', { c: 1 });
      store.deleteRecordSync('cache/k1/a.json');
      expect(store.readRecordSync('cache/k1/a.json')).toBeUndefined();
      expect(store.listRecordsSync('cache')).toEqual(['k1', 'k2']);
      store.deleteRecordSync('cache/k1/b.json');
      expect(store.listRecordsSync('cache')).toEqual(['k2']);
      store.deleteRecordSync('cache/k1/b.json');
      store.deleteRecordSync('cache/k9/none.json');
      expect(await store.listRecords('cache')).toEqual(['k2']);
      // A record can be written again where one was deleted.
      expect(store.createRecordSync('cache/k1/a.json', { a: 2 })).toBe(true);
      expect(store.readRecordSync('cache/k1/a.json')).toEqual({ a: 2 });
    });

    it('deleteRecordSync refuses a directory of records with a StoreError and leaves it whole', async () => {
      const store = await make();
      store.writeRecordSync('runs/run-1/run.json', { id: 'run-1' });
      expectStoreError(
        thrown(() => store.deleteRecordSync('runs/run-1')),
        'STORE_IO',
      );
      expect(store.readRecordSync('runs/run-1/run.json')).toEqual({ id: 'run-1' });
    });

    it('every sync record method refuses a path that would leave the store (STORE_CORRUPT_RECORD)', async () => {
      const store = await make();
      const calls: Array<[string, () => unknown]> = [
        ['readRecordSync', () => store.readRecordSync('runs/../../x')],
        ['writeRecordSync', () => store.writeRecordSync('/abs/x', {})],
        ['listRecordsSync', () => store.listRecordsSync('runs/./..')],
        ['createRecordSync', () => store.createRecordSync('runs//x', {})],
        ['deleteRecordSync', () => store.deleteRecordSync('runs/..\\x')],
      ];
      for (const [what, call] of calls) {
        const err = thrown(call);
        expect(err, what).toBeDefined();
        expectStoreError(err, 'STORE_CORRUPT_RECORD');
      }
    });
  });
}

/** The error a synchronous call throws (a test failure when it returns). */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, but it returned');
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
