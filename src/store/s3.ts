import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { RemoteError, StoreError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { decodeObjectFile, encodeObjectFile, STORE_FORMAT } from './local.js';
import { ObjectVerifier } from './object-stream.js';
import { BUNDLE_MAX_BYTES, forgedRecord, isPlainObject, own, PACK_MAX_BYTES, parseTaskRecordPath, RECORD_MAX_BYTES, UNDECLARED_OBJECT_MAX_BYTES } from './remote-input.js';
import { S3Bucket } from './s3-bucket.js';
import type { S3Location } from './s3-location.js';
import { isNotFound, remoteFailure } from './s3-errors.js';
import { indexKeyProblem, type PackEntry, type PackIndex, type PackListing, parsePackIndex } from './s3-packs.js';
import { assertObjectId, checkedRecordPath } from './checks.js';
import { SHA256_HEX, type Store } from './types.js';
import { mapLimit } from '../util/map-limit.js';

export { s3ClientConfig } from './s3-bucket.js';
export type { PackEntry, PackIndex } from './s3-packs.js';

/** Above this, an object goes up as a multipart upload (lib-storage), parts of this size. */
export const MULTIPART_BYTES = 16 << 20;
const PART_BYTES = 8 << 20;

/** Task records of one run in one document, written by `flow push` (one PUT instead of thousands). */
export interface RecordBundle {
  v: 1;
  records: Record<string, unknown>;
}

/**
 * The store on S3 (or any S3-compatible service), in the local store's layout under
 * `s3://bucket/prefix/`:
 *   FORMAT, objects/ab/<sha256> (the same object files as on disk), runs/<id>/… records.
 * Two additions keep request counts low (restic's idea): `packs/<id>.pack` holds many small
 * objects back to back, described by `packs/<id>.idx.json` written after it; and
 * `runs/<id>/tasks.bundle.json` holds a pushed run's task records. Readers see loose and packed
 * objects, loose and bundled records, alike.
 *
 * The SDK's own retry policy (3 attempts, backoff) is the only retry; nothing here loops on errors,
 * except a conditional-write conflict (409), which AWS documents as "retry".
 */
export class S3Store extends S3Bucket implements Store {
  /**
   * A shared store: gc collects it in two passes, through `CollectableS3Store` (s3-gc.ts), the
   * subclass with gc's methods (they read runs and the run index, modules that import this one).
   */
  readonly collection = 'two-pass';
  private packIndex: Promise<{ entries: Map<string, PackEntry>; problems: StoreError[] }> | undefined;
  private readonly bundles = new Map<string, Promise<RecordBundle | undefined>>();

  /** Opens a store, writing its FORMAT marker on first use and refusing a newer format. */
  static async open<T extends S3Store>(this: new (loc: S3Location, client?: S3Client) => T, loc: S3Location, client?: S3Client): Promise<T> {
    const store = new this(loc, client);
    const format = await store.readRecord<{ format?: string; version?: number }>('FORMAT');
    if (!format) {
      await store.createRecord('FORMAT', STORE_FORMAT);
    } else if (format.format !== STORE_FORMAT.format || typeof format.version !== 'number') {
      throw new StoreError('STORE_CORRUPT_RECORD', `${store.location} is not a flowrun store (bad FORMAT object).`, { file: `${store.location}FORMAT` });
    } else if (format.version > STORE_FORMAT.version) {
      throw new StoreError('STORE_VERSION_UNSUPPORTED', `The store at ${store.location} was written by a newer flowrun (store format ${format.version}).`, { fix: 'Upgrade flowrun (npm install flowrun@latest).' });
    }
    return store;
  }

  private conditionalChecked: Promise<void> | undefined;

  /**
   * Run ids are only unique if the server honours `If-None-Match: *` (AWS S3 does since 2024;
   * some S3-compatible servers silently overwrite). Two creates of one probe key: the second
   * must lose. Checked once per store instance, before the first run-id claim.
   */
  assertConditionalWrites(): Promise<void> {
    this.conditionalChecked ??= (async () => {
      const probe = 'locks/conditional-write-probe.json';
      await this.createRecord(probe, { probe: true });
      if (await this.createRecord(probe, { probe: true })) {
        throw new RemoteError('REMOTE_NO_CONDITIONAL_WRITES', `${this.location} (endpoint ${this.loc.endpoint ?? 'AWS default'}) accepted a second "create only if absent" write of one key, so it does not support conditional writes; run ids claimed there could collide.`, {
          fix: 'Use AWS S3 or an S3-compatible server that honours PutObject If-None-Match: * (returns 412 when the key exists).',
        });
      }
    })();
    this.conditionalChecked.catch(() => {
      this.conditionalChecked = undefined;
    });
    return this.conditionalChecked;
  }

  objectKey(hash: string): string {
    return this.key(`objects/${hash.slice(0, 2)}/${hash}`);
  }

  // ---- objects -------------------------------------------------------------------------

  async putObject(data: Uint8Array, options: { compress?: boolean } = {}): Promise<string> {
    const hash = sha256(data);
    // Only a pack index already read is consulted: a Batch task storing a few objects should not
    // read every pack index of the bucket. A loose copy of a packed object is harmless.
    if (this.packIndex && (await this.packIndex.catch(() => undefined))?.entries.has(hash)) return hash;
    await this.putObjectFile(hash, Buffer.concat(encodeObjectFile(data, options.compress)));
    return hash;
  }

  /** Uploads an encoded object file under its hash; an existing object is left as it is. */
  async putObjectFile(hash: string, file: Buffer): Promise<void> {
    const Key = this.objectKey(hash);
    if (file.byteLength > MULTIPART_BYTES) {
      if ((await this.headSize(Key)) === file.byteLength) return;
      await this.send(`uploading object ${hash}`, () => new Upload({ client: this.client, params: { Bucket: this.loc.bucket, Key, Body: file }, partSize: PART_BYTES, queueSize: 4 }).done());
      // A multipart ETag is not an MD5 of the content, so check the stored size instead.
      const size = await this.headSize(Key);
      if (size !== file.byteLength) throw new StoreError('STORE_UPLOAD_MISMATCH', `Object ${hash} was uploaded to ${this.location} but is ${size ?? 'absent'} bytes there, not ${file.byteLength}.`, { fix: 'Run flow push again; it uploads only what is missing.' });
      return;
    }
    await this.conditionalPut(Key, file, `uploading object ${hash}`);
  }

  async getObject(hash: string): Promise<Buffer> {
    assertObjectId(hash, 'Run flow fsck --remote.');
    const file = await this.getObjectFile(hash);
    return verifyObjectFile(file, hash, `${this.location}objects/${hash.slice(0, 2)}/${hash}`, UNDECLARED_OBJECT_MAX_BYTES);
  }

  /**
   * Checks an object where it lies (loose or packed) without holding it: streamed, inflated and
   * hashed chunk by chunk, at most `maxBytes` of content. Used by `flow fsck --remote`.
   */
  async verifyObject(hash: string, maxBytes = UNDECLARED_OBJECT_MAX_BYTES): Promise<void> {
    const expect = { hash, maxBytes, where: `${this.location}objects/${hash.slice(0, 2)}/${hash}`, bound: 'the most an object without a declared size may hold' };
    const loose = await this.openObject(hash);
    const verifier = new ObjectVerifier(loose ? expect : { ...expect, where: `${this.location}packs/${(await this.packedObjects()).get(hash)?.pack}.pack` });
    try {
      if (loose) {
        for await (const chunk of loose.body) await verifier.write(chunk);
      } else {
        await verifier.write(await this.getObjectFile(hash));
      }
      await verifier.end();
    } finally {
      verifier.abort();
      loose?.abort();
    }
  }

  /** A loose object's file as a stream, with its stored size; undefined when there is no loose copy. */
  async openObject(hash: string): Promise<{ size: number; body: AsyncIterable<Uint8Array>; abort: () => void } | undefined> {
    const Key = this.objectKey(hash);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key }));
      const body = out.Body as Readable;
      return { size: out.ContentLength ?? 0, body: this.guarded(body, `reading object ${hash}`), abort: () => body.destroy() };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, `reading object ${hash}`);
    }
  }

  /** The raw object file (header + payload), from its loose key or its pack. Not verified. */
  async getObjectFile(hash: string): Promise<Buffer> {
    // The loose key first (one GET, no index needed); the pack indexes only when it is not there.
    const loose = await this.getBytes(this.objectKey(hash), `reading object ${hash}`);
    if (loose) return loose;
    const packed = (await this.packedObjects()).get(hash);
    const bytes = packed ? await this.getBytes(this.key(`packs/${packed.pack}.pack`), `reading object ${hash}`, `bytes=${packed.offset}-${packed.offset + packed.length - 1}`) : undefined;
    if (!bytes || bytes.byteLength !== packed?.length) throw new StoreError('STORE_MISSING_OBJECT', `Object ${hash} is missing from ${this.location}.`, { fix: 'Push it again from a store that has it (flow push), then run flow fsck --remote.' });
    return bytes;
  }

  /**
   * An object file read straight from where a hint says it is in a pack (one ranged GET, no
   * pack index read). Not verified; undefined when the range is not there (the hint is stale).
   */
  async getPackedObjectFile(hash: string, at: PackEntry): Promise<Buffer | undefined> {
    if (!SHA256_HEX.test(at.pack) || !Number.isSafeInteger(at.offset) || !Number.isSafeInteger(at.length) || at.offset < 0 || at.length < 4 || at.length > PACK_MAX_BYTES) return undefined;
    const bytes = await this.getBytes(this.key(`packs/${at.pack}.pack`), `reading object ${hash}`, `bytes=${at.offset}-${at.offset + at.length - 1}`, at.length);
    return bytes && bytes.byteLength === at.length ? bytes : undefined;
  }

  async hasObject(hash: string): Promise<boolean> {
    if (!SHA256_HEX.test(hash)) return false;
    if ((await this.headSize(this.objectKey(hash))) !== undefined) return true;
    return (await this.packedObjects()).has(hash);
  }

  async *listObjects(): AsyncIterable<string> {
    const seen = new Set<string>();
    for await (const { key } of this.listKeys(this.key('objects/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (SHA256_HEX.test(name) && !seen.has(name)) {
        seen.add(name);
        yield name;
      }
    }
    // Objects of forged indexes are not listed; packIndexProblems() names those indexes.
    for (const hash of (await this.packIndexes()).entries.keys())
      if (!seen.has(hash)) {
        seen.add(hash);
        yield hash;
      }
  }

  /** Every loose object with its stored size, in one listing (1,000 keys per request). */
  async *listObjectSizes(): AsyncIterable<{ hash: string; size: number }> {
    for await (const { key, size } of this.listKeys(this.key('objects/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (SHA256_HEX.test(name)) yield { hash: name, size };
    }
  }

  // ---- packs -----------------------------------------------------------------------------

  /**
   * Object hashes held in packs (read once per store instance: one listing + one GET per index).
   * Every index is checked against its key and its pack's size first; a forged one fails this
   * (STORE_CORRUPT_RECORD naming it) rather than steer reads elsewhere.
   */
  async packedObjects(): Promise<Map<string, PackEntry>> {
    const { entries, problems } = await this.packIndexes();
    if (problems.length > 0) throw problems[0]!;
    return entries;
  }

  /** The forged or corrupt pack indexes (for flow fsck --remote, which reports them all). */
  async packIndexProblems(): Promise<StoreError[]> {
    return (await this.packIndexes()).problems;
  }

  private packIndexes(): Promise<{ entries: Map<string, PackEntry>; problems: StoreError[] }> {
    this.packIndex ??= this.loadPackIndexes();
    this.packIndex.catch(() => {
      this.packIndex = undefined;
    });
    return this.packIndex;
  }

  private async loadPackIndexes(): Promise<{ entries: Map<string, PackEntry>; problems: StoreError[] }> {
    const listing: PackListing = { packs: new Map(), indexes: new Map() };
    for await (const { key, size } of this.listKeys(this.key('packs/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (name.endsWith('.idx.json')) listing.indexes.set(name.slice(0, -'.idx.json'.length), { key: this.display(key), size });
      else if (name.endsWith('.pack')) listing.packs.set(name.slice(0, -'.pack'.length), size);
    }
    const entries = new Map<string, PackEntry>();
    const problems: StoreError[] = [];
    await mapLimit([...listing.indexes], 8, async ([id, { key, size }]) => {
      try {
        const problem = indexKeyProblem(id, key, size, listing);
        if (problem) throw problem;
        const bytes = await this.getBytes(this.key(`packs/${id}.idx.json`), 'reading a pack index', undefined, size);
        if (!bytes) return;
        for (const [hash, entry] of parsePackIndex(bytes, key, id, listing.packs.get(id)!)) entries.set(hash, entry);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        problems.push(e);
      }
    });
    return { entries, problems };
  }

  /** Pack ids that have an index (complete packs). */
  async listPacks(): Promise<{ packs: Map<string, number>; indexes: Set<string> }> {
    const packs = new Map<string, number>();
    const indexes = new Set<string>();
    for await (const { key, size } of this.listKeys(this.key('packs/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (name.endsWith('.idx.json')) indexes.add(name.slice(0, -'.idx.json'.length));
      else if (name.endsWith('.pack')) packs.set(name.slice(0, -'.pack'.length), size);
    }
    return { packs, indexes };
  }

  /**
   * Uploads object files as one pack: the pack first, its index after, so an index never names a
   * pack that is not there. Returns the pack id.
   */
  async putPack(files: { hash: string; file: Buffer }[]): Promise<string> {
    const objects: Record<string, [number, number]> = {};
    let offset = 0;
    for (const { hash, file } of files) {
      objects[hash] = [offset, file.byteLength];
      offset += file.byteLength;
    }
    const body = Buffer.concat(files.map((f) => f.file));
    const pack = sha256(body);
    await this.putBytes(this.key(`packs/${pack}.pack`), body, `uploading pack ${pack}`);
    const index: PackIndex = { v: 1, pack, objects };
    await this.putBytes(this.key(`packs/${pack}.idx.json`), Buffer.from(JSON.stringify(index)), `uploading pack index ${pack}`);
    if (this.packIndex) {
      const { entries } = await this.packIndex;
      for (const [hash, [o, length]] of Object.entries(objects)) entries.set(hash, { pack, offset: o, length });
    }
    return pack;
  }

  async readPackIndex(pack: string): Promise<PackIndex | undefined> {
    const bytes = await this.getBytes(this.key(`packs/${pack}.idx.json`), 'reading a pack index');
    return bytes ? (JSON.parse(bytes.toString('utf8')) as PackIndex) : undefined;
  }

  /** A whole pack (at most PACK_MAX_BYTES: a bigger one is not a push's). */
  async getPack(pack: string): Promise<Buffer | undefined> {
    return this.getBytes(this.key(`packs/${pack}.pack`), `reading pack ${pack}`, undefined, PACK_MAX_BYTES);
  }

  // ---- records ---------------------------------------------------------------------------

  // Record paths are checked as the local store checks them: S3 keys are plain strings, but a key
  // with `..` or a leading `/` is one that no record of flowrun's names, and some S3-compatible
  // servers and proxies normalise such paths out of the store's prefix.
  async writeRecord(path: string, value: unknown): Promise<void> {
    checkedRecordPath(path, this.location);
    await this.putBytes(this.key(path), Buffer.from(JSON.stringify(value)), `writing record ${path}`);
  }

  async readRecord<T>(path: string): Promise<T | undefined> {
    checkedRecordPath(path, this.location);
    const value = await this.readJson(path, RECORD_MAX_BYTES);
    return (value === undefined ? await this.bundledRecord(path) : value) as T | undefined;
  }

  /** A JSON document at a key, at most `maxBytes` (STORE_CORRUPT_RECORD naming the key otherwise). */
  async readJson(path: string, maxBytes: number): Promise<unknown> {
    const bytes = await this.getBytes(this.key(path), `reading record ${path}`, undefined, maxBytes);
    if (!bytes) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      throw forgedRecord(`${this.location}${path}`, 'it is not valid JSON');
    }
  }

  async listRecords(dir: string): Promise<string[]> {
    checkedRecordPath(dir, this.location);
    const names = new Set<string>();
    const prefix = this.key(`${dir.replace(/\/+$/, '')}/`);
    for await (const page of this.listPages(prefix, '/')) {
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(prefix.length, -1));
      for (const o of page.Contents ?? []) if (o.Key) names.add(o.Key.slice(prefix.length));
    }
    for (const name of await this.bundledNames(dir)) names.add(name);
    names.delete('');
    return [...names].sort();
  }

  async createRecord(path: string, value: unknown): Promise<boolean> {
    checkedRecordPath(path, this.location);
    return this.conditionalPut(this.key(path), Buffer.from(JSON.stringify(value)), `creating record ${path}`);
  }

  /** A document's bytes with its ETag, for a conditional update (the mirror's run index). */
  async readVersioned(path: string, maxBytes: number): Promise<{ bytes: Buffer; etag: string } | undefined> {
    return this.getVersioned(this.key(path), `reading ${path}`, maxBytes);
  }

  /** Writes a document only if it still has `etag` (or is still absent): false when another writer was first. */
  async writeIfUnchanged(path: string, bytes: Buffer, etag: string | undefined): Promise<boolean> {
    return this.putIfUnchanged(this.key(path), bytes, etag, `writing ${path}`);
  }

  /** Writes a run's task records as one bundle document (see the class comment). */
  async writeBundle(run: string, records: Record<string, unknown>): Promise<void> {
    const bundle: RecordBundle = { v: 1, records };
    await this.putBytes(this.key(`runs/${run}/tasks.bundle.json`), Buffer.from(JSON.stringify(bundle)), `writing the records of ${run}`);
    this.bundles.set(run, Promise.resolve(bundle));
  }

  /** A run's bundle, checked for shape (its entries' names are checked by whoever reads them). */
  readBundle(run: string): Promise<RecordBundle | undefined> {
    let bundle = this.bundles.get(run);
    if (!bundle) {
      const path = `runs/${run}/tasks.bundle.json`;
      bundle = this.readJson(path, BUNDLE_MAX_BYTES).then((b) => {
        if (b === undefined) return undefined;
        if (!isPlainObject(b) || b.v !== 1 || !isPlainObject(b.records)) throw forgedRecord(`${this.location}${path}`, 'it is not a record bundle ({"v":1,"records":{…}})');
        return b as unknown as RecordBundle;
      });
      bundle.catch(() => this.bundles.delete(run));
      this.bundles.set(run, bundle);
    }
    return bundle;
  }

  private async bundledRecord(path: string): Promise<unknown> {
    const m = /^runs\/([^/]+)\/tasks\/(.+)$/.exec(path);
    if (!m || !parseTaskRecordPath(m[2]!)) return undefined;
    const bundle = await this.readBundle(m[1]!);
    return bundle ? own(bundle.records, m[2]!) : undefined;
  }

  private async bundledNames(dir: string): Promise<string[]> {
    const m = /^runs\/([^/]+)\/tasks(?:\/([^/]+))?\/?$/.exec(dir);
    if (!m) return [];
    const bundle = await this.readBundle(m[1]!);
    if (!bundle) return [];
    const names = new Set<string>();
    for (const rel of Object.keys(bundle.records)) {
      // Names that are not `<step>/<task>.json` are never listed (flow fsck --remote reports them).
      if (!parseTaskRecordPath(rel)) continue;
      const [step, file] = rel.split('/');
      if (m[2] === undefined) names.add(step!);
      else if (step === m[2] && file) names.add(file);
    }
    return [...names];
  }

  // ---- deletion (gc) ---------------------------------------------------------------------

  /** Deletes keys (relative to the prefix), 1,000 per request. */
  override async deleteKeys(paths: string[]): Promise<void> {
    await super.deleteKeys(paths);
    this.packIndex = undefined;
  }
}

/** Decodes an object file and checks its hash (STORE_CORRUPT_OBJECT names where it came from). */
export function verifyObjectFile(file: Buffer, hash: string, where: string, maxBytes?: number): Buffer {
  const data = decodeObjectFile(file, hash, where, maxBytes);
  if (sha256(data) !== hash) throw new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} at ${where} is corrupt: its content does not match its hash.`, { file: where, fix: 'Push it again from a store that has a good copy (flow push), then run flow fsck --remote.' });
  return data;
}
