import type { Store } from '../store/types.js';

/**
 * Claims the next free `run-N` in every given store, the shared one (the S3 mirror) first:
 * each candidate is created with an atomic create-if-absent (a conditional PUT on S3, link(2) on
 * disk), so concurrent runs, even on other machines, never share an id. An id taken in any store
 * is skipped; a claim that won remotely but lost locally is abandoned (ids may have gaps).
 */
export async function allocateRunId(stores: Store | Store[], claim: Record<string, unknown>): Promise<string> {
  const all = Array.isArray(stores) ? stores : [stores];
  let n = 0;
  for (const store of all) {
    for (const name of await store.listRecords('runs')) {
      const m = /^run-(\d+)$/.exec(name);
      if (m) n = Math.max(n, Number(m[1]));
    }
  }
  for (n++; ; n++) {
    const id = `run-${n}`;
    let won = true;
    for (const store of all) {
      if (!(await store.createRecord(`runs/${id}/claim.json`, { ...claim, id }))) {
        won = false;
        break;
      }
    }
    if (won) return id;
  }
}
