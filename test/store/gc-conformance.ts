import { describe, expect, it } from 'vitest';
import { isCollectable, type GcStore, type GcUnit } from '../../src/store/types.js';

/**
 * The capability `flow gc` needs (types.ts: Collectable on this machine, TwoPassCollectable on
 * a shared store), against every implementation: each store declares which one it has, and its
 * units, unit deletion and run deletion keep one contract whichever it is.
 *
 * @example
 * gcConformance('S3Store', 'two-pass', async () => S3Store.open(loc));
 */
export function gcConformance(name: string, kind: GcStore['collection'], make: () => Promise<GcStore>): void {
  describe(`gc capability conformance: ${name}`, () => {
    it(`declares that gc collects it in ${kind === 'one-pass' ? 'one pass' : 'two passes'}, with that kind's methods`, async () => {
      const store = await make();
      expect(store.collection).toBe(kind);
      expect(isCollectable(store)).toBe(kind === 'one-pass');
      const methods = kind === 'one-pass' ? ['gcUnits', 'deleteRun', 'deleteUnit'] : ['readRunForGc', 'listGcUnits', 'deleteRuns', 'deleteUnits', 'pruneCacheEntries'];
      for (const m of methods) expect(typeof (store as unknown as Record<string, unknown>)[m], m).toBe('function');
    });

    it('lists every stored object in exactly one unit, with its size and a time', async () => {
      const store = await make();
      const hashes = [await store.putObject(Buffer.from('unit one')), await store.putObject(Buffer.alloc(4096, 'z'))];
      const units = await unitsOf(store);
      for (const h of hashes)
        expect(
          units.filter((u) => u.hashes.includes(h)),
          h,
        ).toHaveLength(1);
      for (const u of units) {
        expect(u.size).toBeGreaterThan(0);
        expect(u.modified.getTime()).toBeGreaterThan(0);
      }
    });

    it('deleting units removes exactly their objects', async () => {
      const store = await make();
      const doomed = await store.putObject(Buffer.from('goes'));
      const kept = await store.putObject(Buffer.from('stays'));
      const units = (await unitsOf(store)).filter((u) => u.hashes.includes(doomed));
      await deleteUnitsOf(store, units);
      expect(await store.hasObject(doomed)).toBe(false);
      expect(await store.hasObject(kept)).toBe(true);
      expect((await unitsOf(store)).some((u) => u.hashes.includes(doomed))).toBe(false);
    });

    it('deleting a run removes its run record and every record under it, and nothing of another run', async () => {
      const store = await make();
      for (const id of ['run-1', 'run-2']) {
        await store.writeRecord(`runs/${id}/run.json`, { id });
        await store.writeRecord(`runs/${id}/tasks/start/0.json`, { id });
      }
      await deleteRunsOf(store, ['run-1']);
      expect(await store.readRecord('runs/run-1/run.json')).toBeUndefined();
      expect(await store.readRecord('runs/run-1/tasks/start/0.json')).toBeUndefined();
      expect(await store.listRecords('runs')).toEqual(['run-2']);
      expect(await store.readRecord('runs/run-2/tasks/start/0.json')).toEqual({ id: 'run-2' });
    });
  });
}

async function unitsOf(store: GcStore): Promise<GcUnit[]> {
  const out: GcUnit[] = [];
  if (isCollectable(store)) out.push(...store.gcUnits([]));
  else for await (const u of store.listGcUnits()) out.push(u);
  return out;
}

async function deleteUnitsOf(store: GcStore, units: GcUnit[]): Promise<void> {
  if (isCollectable(store)) for (const u of units) store.deleteUnit(u);
  else await store.deleteUnits(units);
}

async function deleteRunsOf(store: GcStore, ids: string[]): Promise<void> {
  if (isCollectable(store)) for (const id of ids) store.deleteRun(id);
  else await store.deleteRuns(ids);
}
