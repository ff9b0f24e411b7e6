import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import type { Store } from '../../src/store/types.js';

/**
 * Behaviours every Store must have, whatever the medium (restic `internal/backend/test`
 * style). Each test gets a fresh, empty store from `make`, and uses nothing but the `Store`
 * interface, so the S3 store runs the very same suite:
 *
 * @example
 * storeConformance('LocalStore', async () => LocalStore.open(tempDir()));
 */
export function storeConformance(name: string, make: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    describe('objects', () => {
      it.each([
        ['small', Buffer.from('hello, flowrun\n')],
        ['empty', Buffer.alloc(0)],
        ['5 MiB random', randomBytes(5 << 20)],
        ['1 MiB compressible', Buffer.alloc(1 << 20, 'abcdefgh')],
      ])('round trips a %s object', async (_label, data) => {
        const store = await make();
        const hash = await store.putObject(data);
        const back = await store.getObject(hash);
        expect(Buffer.isBuffer(back)).toBe(true);
        expect(back.byteLength).toBe(data.byteLength);
        expect(back.equals(data)).toBe(true);
      });

      it('returns the sha256 hex of the logical bytes, whether compressed or not', async () => {
        const store = await make();
        const data = Buffer.alloc(64 << 10, 'compress me ');
        expect(await store.putObject(data)).toBe(sha256(data));
        expect(await store.putObject(data, { compress: false })).toBe(sha256(data));
        const other = Buffer.from('x');
        expect(await store.putObject(other, { compress: true })).toBe(sha256(other));
        expect(await store.putObject(new Uint8Array(0))).toBe(sha256(Buffer.alloc(0)));
      });

      it('accepts any Uint8Array, including a view into a larger buffer, and hashes only its bytes', async () => {
        const store = await make();
        const big = randomBytes(4096);
        const view = new Uint8Array(big.buffer, big.byteOffset + 100, 1000);
        const hash = await store.putObject(view);
        expect(hash).toBe(sha256(view));
        expect((await store.getObject(hash)).equals(Buffer.from(view))).toBe(true);
      });

      it('stores identical puts once (idempotent)', async () => {
        const store = await make();
        const data = Buffer.from('same bytes');
        const h1 = await store.putObject(data);
        const h2 = await store.putObject(Buffer.from('same bytes'));
        const h3 = await store.putObject(data, { compress: false });
        expect(h2).toBe(h1);
        expect(h3).toBe(h1);
        expect(await collect(store.listObjects())).toEqual([h1]);
        expect((await store.getObject(h1)).equals(data)).toBe(true);
      });

      it('handles 20 concurrent identical puts: all succeed, one object', async () => {
        const store = await make();
        const data = randomBytes(256 << 10);
        const hashes = await Promise.all(Array.from({ length: 20 }, () => store.putObject(Buffer.from(data))));
        expect(new Set(hashes)).toEqual(new Set([sha256(data)]));
        expect(await collect(store.listObjects())).toEqual([sha256(data)]);
        expect((await store.getObject(sha256(data))).equals(data)).toBe(true);
      });

      it('is not affected by later mutation of the input or of a returned buffer', async () => {
        const store = await make();
        const data = Buffer.from('immutable once stored');
        const copy = Buffer.from(data);
        const hash = await store.putObject(data);
        data.fill(0);
        const first = await store.getObject(hash);
        expect(first.equals(copy)).toBe(true);
        first.fill(0);
        expect((await store.getObject(hash)).equals(copy)).toBe(true);
      });

      it('hasObject is true exactly for stored objects', async () => {
        const store = await make();
        const data = Buffer.from('present');
        expect(await store.hasObject(sha256(data))).toBe(false);
        const hash = await store.putObject(data);
        expect(await store.hasObject(hash)).toBe(true);
        expect(await store.hasObject(sha256(Buffer.from('absent')))).toBe(false);
      });

      it('hasObject is false for ids that are not sha256 hex (never a path outside the objects)', async () => {
        const store = await make();
        await store.putObject(Buffer.from('something'));
        await store.writeRecord('runs/r1/run.json', { ok: true });
        const ids = ['', 'zz', 'FORMAT', '../FORMAT', '../../FORMAT', `${'../'.repeat(40)}etc/passwd`, 'A'.repeat(64)];
        const found: string[] = [];
        for (const id of ids) if (await store.hasObject(id)) found.push(id);
        expect(found).toEqual([]);
      });

      it('listObjects yields exactly the stored hashes', async () => {
        const store = await make();
        expect(await collect(store.listObjects())).toEqual([]);
        const inputs = [Buffer.from('a'), Buffer.from('b'), Buffer.alloc(0), randomBytes(4096), Buffer.alloc(8192, 'z'), Buffer.from('a')];
        const expected = new Set<string>();
        for (const data of inputs) expected.add(await store.putObject(data));
        // Records live beside objects but are not objects.
        await store.writeRecord('runs/r1/run.json', { hashes: [...expected] });
        const listed = await collect(store.listObjects());
        expect(listed.length).toBe(expected.size);
        expect(new Set(listed)).toEqual(expected);
        expect(new Set(inputs.map((d) => sha256(d)))).toEqual(expected);
      });

      it('getObject of a missing hash rejects with STORE_MISSING_OBJECT', async () => {
        const store = await make();
        await store.putObject(Buffer.from('other'));
        const err = await rejection(store.getObject(sha256(Buffer.from('never stored'))));
        expectStoreError(err, 'STORE_MISSING_OBJECT');
      });

      it('getObject of an id that is not a sha256 rejects with a StoreError', async () => {
        const store = await make();
        for (const id of ['', 'not-a-hash', '../FORMAT', 'A'.repeat(64)]) {
          const err = await rejection(store.getObject(id));
          expect(isFlowError(err) && err.exitCode === 3, `${JSON.stringify(id)}: ${String(err)}`).toBe(true);
        }
      });
    });

    describe('records', () => {
      it('writeRecord/readRecord round trip JSON values', async () => {
        const store = await make();
        const value = { flow: 'Train', run: 'run-1', params: { lr: 0.1, tags: ['a', 'ü', '🚀'] }, ok: true, none: null, n: -12.5 };
        await store.writeRecord('runs/run-1/run.json', value);
        expect(await store.readRecord('runs/run-1/run.json')).toStrictEqual(value);
        await store.writeRecord('top.json', [1, 'two', null]);
        expect(await store.readRecord<unknown[]>('top.json')).toStrictEqual([1, 'two', null]);
      });

      it('writeRecord overwrites an existing record', async () => {
        const store = await make();
        await store.writeRecord('runs/run-1/status.json', { status: 'running', tasks: [1, 2, 3] });
        await store.writeRecord('runs/run-1/status.json', { status: 'done' });
        expect(await store.readRecord('runs/run-1/status.json')).toStrictEqual({ status: 'done' });
      });

      it('readRecord of an absent record is undefined', async () => {
        const store = await make();
        expect(await store.readRecord('runs/nope/run.json')).toBeUndefined();
        await store.writeRecord('runs/run-1/run.json', { a: 1 });
        expect(await store.readRecord('runs/run-1/other.json')).toBeUndefined();
        expect(await store.readRecord('runs/run-1/run.json/deeper.json')).toBeUndefined();
      });

      it('listRecords gives the sorted names directly under a directory', async () => {
        const store = await make();
        for (const n of ['run-3', 'run-10', 'run-1', 'run-2']) await store.writeRecord(`runs/${n}.json`, { n });
        await store.writeRecord('runs/nested/deeper/x.json', {});
        await store.writeRecord('elsewhere/y.json', {});
        expect(await store.listRecords('runs')).toEqual(['nested', 'run-1.json', 'run-10.json', 'run-2.json', 'run-3.json']);
        expect(await store.listRecords('runs/nested')).toEqual(['deeper']);
        expect(await store.listRecords('absent')).toEqual([]);
      });

      it('a record path that would leave the store is refused by every record method (STORE_CORRUPT_RECORD), and nothing is written', async () => {
        const store = await make();
        for (const p of ['../escape.json', '/abs.json', 'runs/../../x.json', 'runs/./x.json', 'runs//x.json', 'a\\b.json', 'a\0b.json']) {
          for (const [what, call] of [
            ['read', () => store.readRecord(p)],
            ['write', () => store.writeRecord(p, {})],
            ['create', () => store.createRecord(p, {})],
            ['list', () => store.listRecords(p)],
          ] as const) {
            const err = await rejection(call());
            expect(isFlowError(err) && err.code === 'STORE_CORRUPT_RECORD', `${what} ${JSON.stringify(p)}: ${String(err)}`).toBe(true);
          }
        }
        expect(await store.listRecords('runs')).toEqual([]);
      });

      it('createRecord creates once, then returns false and leaves the first value', async () => {
        const store = await make();
        expect(await store.createRecord('runs/run-1/claim.json', { owner: 'first' })).toBe(true);
        expect(await store.createRecord('runs/run-1/claim.json', { owner: 'second' })).toBe(false);
        expect(await store.createRecord('runs/run-1/claim.json', { owner: 'third' })).toBe(false);
        expect(await store.readRecord('runs/run-1/claim.json')).toStrictEqual({ owner: 'first' });
        expect(await store.listRecords('runs/run-1')).toEqual(['claim.json']);
      });

      it('createRecord returns false for a path written by writeRecord', async () => {
        const store = await make();
        await store.writeRecord('runs/run-2/run.json', { v: 1 });
        expect(await store.createRecord('runs/run-2/run.json', { v: 2 })).toBe(false);
        expect(await store.readRecord('runs/run-2/run.json')).toStrictEqual({ v: 1 });
      });

      it('stores a record as its JSON form: what JSON drops or changes reads back so', async () => {
        const store = await make();
        const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
        const value = { gone: undefined, fn: () => 1, when, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, map: new Map([[1, 2]]), list: [undefined, 1], nested: { toJSON: () => 'custom' } };
        const asJson = { when: when.toISOString(), nan: null, inf: null, map: {}, list: [null, 1], nested: 'custom' };
        await store.writeRecord('runs/run-1/odd.json', value);
        expect(await store.readRecord('runs/run-1/odd.json')).toStrictEqual(asJson);
        expect(await store.createRecord('runs/run-1/odd-created.json', value)).toBe(true);
        expect(await store.readRecord('runs/run-1/odd-created.json')).toStrictEqual(asJson);
      });

      it('a record read or written is a copy: mutating either side changes nothing stored', async () => {
        const store = await make();
        const written = { status: 'running', tasks: [1, 2], meta: { by: 'a' } };
        await store.writeRecord('runs/run-1/status.json', written);
        written.tasks.push(3);
        written.meta.by = 'mutated after write';
        const first = await store.readRecord<typeof written>('runs/run-1/status.json');
        expect(first).toStrictEqual({ status: 'running', tasks: [1, 2], meta: { by: 'a' } });
        first!.tasks.push(99);
        first!.status = 'mutated after read';
        expect(await store.readRecord('runs/run-1/status.json')).toStrictEqual({ status: 'running', tasks: [1, 2], meta: { by: 'a' } });
      });

      it('exactly one of 16 concurrent createRecord calls on one path wins', async () => {
        const store = await make();
        const results = await Promise.all(Array.from({ length: 16 }, (_, i) => store.createRecord('runs/next-id', { claimant: i })));
        expect(results.filter(Boolean).length).toBe(1);
        const winner = results.indexOf(true);
        expect(await store.readRecord('runs/next-id')).toStrictEqual({ claimant: winner });
        expect(await store.listRecords('runs')).toEqual(['next-id']);
      });
    });
  });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The rejection reason of a promise that must reject. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Asserts a StoreError (branded FlowError, exit code 3) with the given code. */
export function expectStoreError(err: unknown, code: string): void {
  expect(isFlowError(err), `not a FlowError: ${String(err)}`).toBe(true);
  if (!isFlowError(err)) return;
  expect({ name: err.name, code: err.code, exitCode: err.exitCode }, err.message).toEqual({ name: 'StoreError', code, exitCode: 3 });
}
