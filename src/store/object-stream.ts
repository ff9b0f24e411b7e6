import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { StoreError } from '../errors/index.js';
import { formatBytes } from '../util/bytes.js';
import { printable } from './remote-input.js';

/** What an object read from elsewhere must be: its id, where it came from and its most logical bytes. */
export interface ObjectExpectation {
  hash: string;
  /** The key or path it was read from, for messages. */
  where: string;
  maxBytes: number;
  /** Why that bound, for messages ("the size runs/run-1/tasks/start/0.json declares for artifact x"). */
  bound: string;
}

const HEADER = 4;
const RAW = 0;
const GZIP = 1;
/** Inflated bytes handed over per step: big enough to keep zlib busy, small enough to never matter. */
const INFLATE_CHUNK = 256 << 10;

/**
 * Checks an object file (flowrun's 4-byte header, then raw or gzip payload) as its bytes arrive:
 * the payload is inflated and hashed chunk by chunk and never held whole, and the moment it
 * holds more than `maxBytes` the check fails. So a small gzip bomb costs at most `maxBytes` of
 * inflation work and a few hundred KiB of memory, and a forged object is refused before it is
 * stored anywhere.
 */
export class ObjectVerifier {
  private head = Buffer.alloc(0);
  private codec: number | undefined;
  private readonly digest = createHash('sha256');
  private logical = 0;
  private gunzip: Gunzip | undefined;
  private failure: StoreError | undefined;

  constructor(private readonly o: ObjectExpectation) {}

  /** Feeds the next bytes of the object file; rejects as soon as the object is known to be bad. */
  async write(chunk: Uint8Array): Promise<void> {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.codec === undefined) {
      this.head = Buffer.concat([this.head, bytes]);
      if (this.head.byteLength < HEADER) return;
      this.codec = this.readHeader(this.head);
      bytes = this.head.subarray(HEADER);
      if (this.codec === GZIP) this.startGunzip();
    }
    if (this.codec === RAW) {
      this.count(bytes);
      this.digest.update(bytes);
    } else if (bytes.byteLength > 0) {
      const gunzip = this.gunzip!;
      if (!gunzip.write(bytes)) await Promise.race([once(gunzip, 'drain'), once(gunzip, 'close')]).catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  /** The object is complete: checks its hash; returns its logical size. */
  async end(): Promise<number> {
    if (this.codec === undefined) throw this.corrupt('truncated');
    if (this.gunzip) {
      this.gunzip.end();
      await finished(this.gunzip).catch(() => undefined);
    }
    if (this.failure) throw this.failure;
    if (this.digest.digest('hex') !== this.o.hash) throw this.corrupt('its content does not match its hash');
    return this.logical;
  }

  /** Stops the check (the caller gave up on this object). */
  abort(): void {
    this.gunzip?.destroy();
  }

  private readHeader(head: Buffer): number {
    if (head[0] !== 0x46 || head[1] !== 0x4f) throw this.corrupt('bad header');
    if (head[2]! > 1) throw new StoreError('STORE_VERSION_UNSUPPORTED', `Object ${this.o.hash} at ${printable(this.o.where)} was written by a newer flowrun (object format ${head[2]}).`, { file: this.o.where, fix: 'Upgrade flowrun.' });
    if (head[3] !== RAW && head[3] !== GZIP) throw this.corrupt(`unknown codec ${head[3]}`);
    return head[3]!;
  }

  private startGunzip(): void {
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
    gunzip.on('data', (out: Buffer) => {
      if (this.failure) return;
      try {
        this.count(out);
        this.digest.update(out);
      } catch (e) {
        this.failure = e as StoreError;
        gunzip.destroy();
      }
    });
    gunzip.on('error', () => {
      this.failure ??= this.corrupt('its compressed data does not decode');
    });
    this.gunzip = gunzip;
  }

  private count(bytes: Buffer): void {
    this.logical += bytes.byteLength;
    if (this.logical > this.o.maxBytes) throw tooLarge(this.o);
  }

  private corrupt(what: string): StoreError {
    return new StoreError('STORE_CORRUPT_OBJECT', `Object ${this.o.hash} at ${printable(this.o.where)} is corrupt: ${what}; it was not stored.`, { file: this.o.where, fix: 'Push it again from a store that has a good copy (flow push), then run flow fsck --remote.' });
  }
}

export function tooLarge(o: ObjectExpectation): StoreError {
  return new StoreError('STORE_CORRUPT_OBJECT', `Object ${o.hash} at ${printable(o.where)} holds more than ${formatBytes(o.maxBytes)} (${o.bound}): a forged or corrupt object (a gzip bomb inflates like this); it was not stored.`, {
    file: o.where,
    fix: 'Check who can write to the mirror bucket; delete the object or push the run again from a machine with a good copy. flow fsck --remote lists every such object.',
  });
}

/** Verifies a whole object file already in memory (a pack member), without inflating it whole. */
export async function verifyObjectBytes(file: Buffer, o: ObjectExpectation): Promise<number> {
  const v = new ObjectVerifier(o);
  try {
    for (let i = 0; i < file.byteLength; i += 1 << 20) await v.write(file.subarray(i, Math.min(file.byteLength, i + (1 << 20))));
    return await v.end();
  } finally {
    v.abort();
  }
}
