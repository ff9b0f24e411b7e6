import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { RemoteError, StoreError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { decodeObjectFile, encodeObjectFile, STORE_FORMAT } from './local.js';
import { isConditionalConflict, isNotFound, isPreconditionFailed, remoteFailure } from './s3-errors.js';
import { describeLocation, type S3Location } from './s3-location.js';
import { SHA256_HEX, type Store } from './types.js';

/** Above this, an object goes up as a multipart upload (lib-storage), parts of this size. */
export const MULTIPART_BYTES = 16 << 20;
const PART_BYTES = 8 << 20;

/** Where one object lives inside a pack file. */
export interface PackEntry { pack: string; offset: number; length: number }
/** A pack's index, written after the pack itself: object hash → [offset, length]. */
export interface PackIndex { v: 1; pack: string; objects: Record<string, [number, number]> }
/** Task records of one run in one document, written by `flow push` (one PUT instead of thousands). */
export interface RecordBundle { v: 1; records: Record<string, unknown> }

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
export class S3Store implements Store {
  readonly location: string;
  readonly client: S3Client;
  private packIndex: Promise<Map<string, PackEntry>> | undefined;
  private readonly bundles = new Map<string, Promise<RecordBundle | undefined>>();

  constructor(readonly loc: S3Location, client?: S3Client) {
    this.location = describeLocation(loc);
    this.client = client ?? new S3Client(s3ClientConfig(loc));
  }

  /** Opens a store, writing its FORMAT marker on first use and refusing a newer format. */
  static async open(loc: S3Location, client?: S3Client): Promise<S3Store> {
    const store = new S3Store(loc, client);
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
    this.conditionalChecked.catch(() => { this.conditionalChecked = undefined; });
    return this.conditionalChecked;
  }

  key(path: string): string {
    return `${this.loc.prefix}${path}`;
  }

  objectKey(hash: string): string {
    return this.key(`objects/${hash.slice(0, 2)}/${hash}`);
  }

  // ---- objects -------------------------------------------------------------------------

  async putObject(data: Uint8Array, options: { compress?: boolean } = {}): Promise<string> {
    const hash = sha256(data);
    // Only a pack index already read is consulted: a Batch task storing a few objects should not
    // read every pack index of the bucket. A loose copy of a packed object is harmless.
    if (this.packIndex && (await this.packIndex).has(hash)) return hash;
    await this.putObjectFile(hash, Buffer.concat(encodeObjectFile(data, options.compress)));
    return hash;
  }

  /** Uploads an encoded object file under its hash; an existing object is left as it is. */
  async putObjectFile(hash: string, file: Buffer): Promise<void> {
    const Key = this.objectKey(hash);
    if (file.byteLength > MULTIPART_BYTES) {
      if (await this.headSize(Key) === file.byteLength) return;
      await this.send(`uploading object ${hash}`, () => new Upload({ client: this.client, params: { Bucket: this.loc.bucket, Key, Body: file }, partSize: PART_BYTES, queueSize: 4 }).done());
      // A multipart ETag is not an MD5 of the content, so check the stored size instead.
      const size = await this.headSize(Key);
      if (size !== file.byteLength) throw new StoreError('STORE_UPLOAD_MISMATCH', `Object ${hash} was uploaded to ${this.location} but is ${size ?? 'absent'} bytes there, not ${file.byteLength}.`, { fix: 'Run flow push again; it uploads only what is missing.' });
      return;
    }
    await this.conditionalPut(Key, file, `uploading object ${hash}`);
  }

  async getObject(hash: string): Promise<Buffer> {
    if (!SHA256_HEX.test(hash)) throw new StoreError('STORE_CORRUPT_RECORD', `A record references ${JSON.stringify(hash)}, which is not an object id.`, { fix: 'Run flow fsck --remote.' });
    const file = await this.getObjectFile(hash);
    return verifyObjectFile(file, hash, `${this.location}objects/${hash.slice(0, 2)}/${hash}`);
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

  async hasObject(hash: string): Promise<boolean> {
    if (!SHA256_HEX.test(hash)) return false;
    if ((await this.headSize(this.objectKey(hash))) !== undefined) return true;
    return (await this.packedObjects()).has(hash);
  }

  async *listObjects(): AsyncIterable<string> {
    const seen = new Set<string>();
    for await (const { key } of this.listKeys(this.key('objects/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (SHA256_HEX.test(name) && !seen.has(name)) { seen.add(name); yield name; }
    }
    for (const hash of (await this.packedObjects()).keys()) if (!seen.has(hash)) { seen.add(hash); yield hash; }
  }

  /** Every loose object with its stored size, in one listing (1,000 keys per request). */
  async *listObjectSizes(): AsyncIterable<{ hash: string; size: number }> {
    for await (const { key, size } of this.listKeys(this.key('objects/'))) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (SHA256_HEX.test(name)) yield { hash: name, size };
    }
  }

  // ---- packs -----------------------------------------------------------------------------

  /** Object hashes held in packs (read once per store instance: one listing + one GET per index). */
  packedObjects(): Promise<Map<string, PackEntry>> {
    this.packIndex ??= this.loadPackIndex();
    return this.packIndex;
  }

  private async loadPackIndex(): Promise<Map<string, PackEntry>> {
    const map = new Map<string, PackEntry>();
    const indexKeys: string[] = [];
    for await (const { key } of this.listKeys(this.key('packs/'))) if (key.endsWith('.idx.json')) indexKeys.push(key);
    await mapLimit(indexKeys, 8, async (key) => {
      const bytes = await this.getBytes(key, 'reading a pack index');
      if (!bytes) return;
      let index: PackIndex;
      try {
        index = JSON.parse(bytes.toString('utf8')) as PackIndex;
      } catch {
        throw new StoreError('STORE_CORRUPT_RECORD', `Pack index ${this.location}${key.slice(this.loc.prefix.length)} is not valid JSON.`, { fix: 'Run flow fsck --remote; flow push re-uploads what is missing.' });
      }
      for (const [hash, [offset, length]] of Object.entries(index.objects)) map.set(hash, { pack: index.pack, offset, length });
    });
    return map;
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
    for (const { hash, file } of files) { objects[hash] = [offset, file.byteLength]; offset += file.byteLength; }
    const body = Buffer.concat(files.map((f) => f.file));
    const pack = sha256(body);
    await this.putBytes(this.key(`packs/${pack}.pack`), body, `uploading pack ${pack}`);
    const index: PackIndex = { v: 1, pack, objects };
    await this.putBytes(this.key(`packs/${pack}.idx.json`), Buffer.from(JSON.stringify(index)), `uploading pack index ${pack}`);
    const known = await this.packedObjects();
    for (const [hash, [o, length]] of Object.entries(objects)) known.set(hash, { pack, offset: o, length });
    return pack;
  }

  async readPackIndex(pack: string): Promise<PackIndex | undefined> {
    const bytes = await this.getBytes(this.key(`packs/${pack}.idx.json`), 'reading a pack index');
    return bytes ? (JSON.parse(bytes.toString('utf8')) as PackIndex) : undefined;
  }

  async getPack(pack: string): Promise<Buffer | undefined> {
    return this.getBytes(this.key(`packs/${pack}.pack`), `reading pack ${pack}`);
  }

  // ---- records ---------------------------------------------------------------------------

  async writeRecord(path: string, value: unknown): Promise<void> {
    await this.putBytes(this.key(path), Buffer.from(JSON.stringify(value)), `writing record ${path}`);
  }

  async readRecord<T>(path: string): Promise<T | undefined> {
    const bytes = await this.getBytes(this.key(path), `reading record ${path}`);
    if (!bytes) return (await this.bundledRecord(path)) as T | undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new StoreError('STORE_CORRUPT_RECORD', `Record ${this.location}${path} is corrupt (not valid JSON).`, { fix: 'Run flow fsck --remote; push the run again from a machine that has it.' });
    }
  }

  async listRecords(dir: string): Promise<string[]> {
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
    return this.conditionalPut(this.key(path), Buffer.from(JSON.stringify(value)), `creating record ${path}`);
  }

  /** Writes a run's task records as one bundle document (see the class comment). */
  async writeBundle(run: string, records: Record<string, unknown>): Promise<void> {
    const bundle: RecordBundle = { v: 1, records };
    await this.putBytes(this.key(`runs/${run}/tasks.bundle.json`), Buffer.from(JSON.stringify(bundle)), `writing the records of ${run}`);
    this.bundles.set(run, Promise.resolve(bundle));
  }

  readBundle(run: string): Promise<RecordBundle | undefined> {
    let bundle = this.bundles.get(run);
    if (!bundle) {
      bundle = this.getBytes(this.key(`runs/${run}/tasks.bundle.json`), `reading the records of ${run}`).then((b) => (b ? (JSON.parse(b.toString('utf8')) as RecordBundle) : undefined));
      this.bundles.set(run, bundle);
    }
    return bundle;
  }

  private async bundledRecord(path: string): Promise<unknown> {
    const m = /^runs\/([^/]+)\/tasks\/(.+)$/.exec(path);
    if (!m) return undefined;
    return (await this.readBundle(m[1]!))?.records[m[2]!];
  }

  private async bundledNames(dir: string): Promise<string[]> {
    const m = /^runs\/([^/]+)\/tasks(?:\/([^/]+))?\/?$/.exec(dir);
    if (!m) return [];
    const bundle = await this.readBundle(m[1]!);
    if (!bundle) return [];
    const names = new Set<string>();
    for (const rel of Object.keys(bundle.records)) {
      const [step, file] = rel.split('/');
      if (m[2] === undefined) names.add(step!);
      else if (step === m[2] && file) names.add(file);
    }
    return [...names];
  }

  // ---- deletion (gc) ---------------------------------------------------------------------

  /** Deletes keys (relative to the prefix), 1,000 per request. */
  async deleteKeys(paths: string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += 1000) {
      const chunk = paths.slice(i, i + 1000);
      await this.send('deleting objects', () => this.client.send(new DeleteObjectsCommand({ Bucket: this.loc.bucket, Delete: { Objects: chunk.map((p) => ({ Key: this.key(p) })), Quiet: true } })));
    }
    this.packIndex = undefined;
  }

  /** Every key under a path (relative to the prefix) with size and last-modified time. */
  async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modified: Date | undefined }> {
    for await (const page of this.listPages(prefix)) {
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified };
    }
  }

  // ---- plumbing ------------------------------------------------------------------------

  private async *listPages(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.send(`listing ${prefix || '/'}`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token })));
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async headSize(Key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, `checking ${Key}`);
    }
  }

  private async getBytes(Key: string, action: string, Range?: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key, Range }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, action);
    }
  }

  private async putBytes(Key: string, Body: Buffer, action: string): Promise<void> {
    await this.send(action, () => this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key, Body })));
  }

  /** PUT with `If-None-Match: *`: true when this call created the key, false when it existed. */
  private async conditionalPut(Key: string, Body: Buffer, action: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key, Body, IfNoneMatch: '*' }));
        return true;
      } catch (e) {
        if (isPreconditionFailed(e)) return false;
        if (isConditionalConflict(e) && attempt < 5) { await new Promise((r) => setTimeout(r, 50 * 2 ** attempt)); continue; }
        throw remoteFailure(e, this.loc, action);
      }
    }
  }

  private async send<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw remoteFailure(e, this.loc, action);
    }
  }
}

/** A server that does not answer a connection within this fails fast (times the SDK's 3 attempts). */
const CONNECT_TIMEOUT_MS = 5_000;

export function s3ClientConfig(loc: S3Location): S3ClientConfig {
  return {
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
    // The SDK's own retry policy (exponential backoff), with two more attempts than its default 3:
    // a push of thousands of objects should ride out a burst of throttling.
    maxAttempts: 5,
    region: loc.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
    forcePathStyle: loc.forcePathStyle ?? Boolean(loc.endpoint),
    // Integrity is ours (sha256 of every object, checked on read); the SDK's newer CRC trailers
    // are not implemented by many S3-compatible servers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Decodes an object file and checks its hash (STORE_CORRUPT_OBJECT names where it came from). */
export function verifyObjectFile(file: Buffer, hash: string, where: string): Buffer {
  const data = decodeObjectFile(file, hash, where);
  if (sha256(data) !== hash) throw new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} at ${where} is corrupt: its content does not match its hash.`, { file: where, fix: 'Push it again from a store that has a good copy (flow push), then run flow fsck --remote.' });
  return data;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
