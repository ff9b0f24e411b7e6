import type { Store } from '../store/types.js';

/**
 * Claims the next free `run-N` in a store: each candidate is created with an atomic
 * create-if-absent, so concurrent runs (even on other machines, with a store that supports
 * conditional writes) never share an id.
 */
export async function allocateRunId(store: Store, claim: Record<string, unknown>): Promise<string> {
  const existing = await store.listRecords('runs');
  let n = existing.reduce((max, name) => Math.max(max, /^run-(\d+)$/.exec(name) ? Number(name.slice(4)) : 0), 0) + 1;
  for (;;) {
    const id = `run-${n}`;
    if (await store.createRecord(`runs/${id}/claim.json`, { ...claim, id })) return id;
    n++;
  }
}
