import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { decodeObjectFile } from './local.js';
import type { DiskStore } from './types.js';
import { type ObjectExpectation, ObjectVerifier } from './object-stream.js';
import { writeAll } from '../util/atomic-write.js';

/**
 * Objects fetched from elsewhere (a pull), written under `<store>/tmp/` and moved into
 * `objects/` only once every one of them has verified. A pull that fails part-way (a forged or
 * corrupt object, a full disk) leaves the store as it was: `discard()` removes the lot.
 * A killed pull leaves a `tmp/pull-*` directory that gc removes after its grace period.
 */
export class ObjectStaging {
  readonly dir: string;
  private readonly staged = new Map<string, string>();
  private readonly madeTmp: boolean;

  constructor(private readonly store: DiskStore) {
    const tmp = join(store.root, 'tmp');
    this.dir = join(tmp, `pull-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      this.madeTmp = mkdirSync(tmp, { recursive: true }) !== undefined;
      mkdirSync(this.dir);
    } catch (e) {
      throw store.ioFailure(e, this.dir);
    }
  }

  has(hash: string): boolean {
    return this.staged.has(hash);
  }

  /** Streams an object file to disk while verifying it; nothing stays unless it verified. */
  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expect: ObjectExpectation, signal?: AbortSignal): Promise<number> {
    const part = join(this.dir, `${expect.hash}.part`);
    const verifier = new ObjectVerifier(expect);
    let fd: number | undefined;
    let size = 0;
    try {
      fd = this.io(part, () => openSync(part, 'wx', 0o444));
      for await (const chunk of source) {
        signal?.throwIfAborted();
        // Checked before it is written: a refused object never reaches the disk beyond its header.
        await verifier.write(chunk);
        this.io(part, () => writeAll(fd!, chunk));
        size += chunk.byteLength;
      }
      await verifier.end();
      this.io(part, () => closeSync(fd!));
      fd = undefined;
      const done = join(this.dir, expect.hash);
      this.io(done, () => renameSync(part, done));
      this.staged.set(expect.hash, done);
      return size;
    } finally {
      verifier.abort();
      if (fd !== undefined) closeSync(fd);
      rmSync(part, { force: true });
    }
  }

  /** The logical bytes of a staged object (already verified). */
  read(hash: string): Buffer {
    const path = this.staged.get(hash)!;
    return decodeObjectFile(readFileSync(path), hash, path);
  }

  /** Moves every staged object into the store (an object already there is kept as it is). */
  commit(): void {
    for (const [hash, path] of this.staged) {
      const target = this.store.objectPath(hash);
      if (isFile(target)) continue;
      this.io(target, () => {
        mkdirSync(dirname(target), { recursive: true });
        chmodSync(path, 0o444);
        renameSync(path, target);
      });
    }
    this.discard();
  }

  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
    if (this.madeTmp)
      try {
        rmdirSync(dirname(this.dir));
      } catch {
        /* another pull's directory is there */
      }
  }

  private io<T>(path: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.store.ioFailure(e, path);
    }
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
