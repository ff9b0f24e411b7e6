import { StoreError } from '../errors/index.js';
import type { SyncStore } from '../store/types.js';
import { type ObjectExpectation, tooLarge } from '../store/object-stream.js';
import { UNDECLARED_OBJECT_MAX_BYTES } from '../store/remote-input.js';
import type { S3Store } from '../store/s3.js';
import { mapLimit } from '../util/map-limit.js';
import type { ObjectStaging } from '../store/staging.js';

const PARALLEL = 8;
const HEADER = 4;

/** An object a pull needs: the most logical bytes it may hold and why (which record declares that). */
export interface WantedObject {
  hash: string;
  maxBytes: number;
  bound: string;
  /** Referenced as an artifact or log (must exist), or only mentioned in a record (fetched if there). */
  required: boolean;
}

/**
 * Fetches objects the local store lacks into a staging area, whole packs when several members
 * are wanted. Each object is verified as it streams in (hash, and size against its bound), so
 * neither memory nor disk ever holds more of a forged object than its bound allows.
 */
export class ObjectFetcher {
  fetched = 0;
  bytes = 0;
  /** Aborted by the first refused object: the others in flight stop at their next chunk. */
  private readonly stop = new AbortController();

  constructor(
    private readonly remote: S3Store,
    private readonly local: SyncStore,
    private readonly staging: ObjectStaging,
    private readonly tick: (bytes: number) => void,
  ) {}

  async fetch(wanted: WantedObject[]): Promise<void> {
    const todo: WantedObject[] = [];
    for (const w of wanted)
      if ((await this.local.hasObject(w.hash)) || this.staging.has(w.hash)) this.tick(0);
      else todo.push(w);
    if (todo.length === 0) return;
    const packed = await this.remote.packedObjects();
    const byPack = new Map<string, WantedObject[]>();
    const single: WantedObject[] = [];
    for (const w of todo) {
      const entry = packed.get(w.hash);
      if (entry) byPack.set(entry.pack, [...(byPack.get(entry.pack) ?? []), w]);
      else single.push(w);
    }
    for (const [, members] of byPack) if (members.length === 1) single.push(members[0]!);
    await mapLimit(
      [...byPack].filter(([, m]) => m.length > 1),
      4,
      (job) =>
        this.guard(async () => {
          const [pack, members] = job;
          const body = await this.remote.getPack(pack);
          for (const w of members) {
            const e = packed.get(w.hash)!;
            const file = body && body.byteLength >= e.offset + e.length ? body.subarray(e.offset, e.offset + e.length) : await this.remote.getObjectFile(w.hash);
            await this.store([file], this.expect(w, `packs/${pack}.pack`), file.byteLength);
          }
        }),
    );
    // Objects no record gives a size for (logs, code packages) come one at a time: most of them are
    // big files (small ones travel in packs), and a forged set then costs one bound of inflation
    // before the pull stops, not one per fetch in flight.
    const declared = single.filter((w) => w.maxBytes < UNDECLARED_OBJECT_MAX_BYTES);
    const undeclared = single.filter((w) => w.maxBytes >= UNDECLARED_OBJECT_MAX_BYTES);
    await mapLimit(declared, PARALLEL, (w) => this.guard(() => this.fetchOne(w, packed.get(w.hash)?.pack)));
    await mapLimit(undeclared, 1, (w) => this.guard(() => this.fetchOne(w, packed.get(w.hash)?.pack)));
  }

  private async guard(job: () => Promise<void>): Promise<void> {
    this.stop.signal.throwIfAborted();
    try {
      await job();
    } catch (e) {
      this.stop.abort(e);
      throw e;
    }
  }

  /** The loose copy first (streamed), else its byte range in a pack. */
  private async fetchOne(w: WantedObject, pack: string | undefined): Promise<void> {
    const loose = await this.remote.openObject(w.hash);
    if (loose) {
      const expect = this.expect(w, `objects/${w.hash.slice(0, 2)}/${w.hash}`);
      try {
        // A payload bigger than the bound is refused before a byte of it is read.
        if (loose.size - HEADER > w.maxBytes) throw tooLarge(expect);
        await this.store(loose.body, expect, loose.size);
      } finally {
        loose.abort();
      }
      return;
    }
    let file: Buffer;
    try {
      file = await this.remote.getObjectFile(w.hash);
    } catch (e) {
      if (!w.required && e instanceof StoreError && e.code === 'STORE_MISSING_OBJECT') {
        this.tick(0);
        return;
      }
      throw e;
    }
    await this.store([file], this.expect(w, `packs/${pack}.pack`), file.byteLength);
  }

  private expect(w: WantedObject, key: string): ObjectExpectation {
    return { hash: w.hash, maxBytes: w.maxBytes, bound: w.bound, where: `${this.remote.location}${key}` };
  }

  private async store(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expect: ObjectExpectation, size: number): Promise<void> {
    await this.staging.put(source, expect, this.stop.signal);
    this.fetched++;
    this.bytes += size;
    this.tick(size);
  }
}
