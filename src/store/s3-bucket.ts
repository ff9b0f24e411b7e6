import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { StoreError } from '../errors/index.js';
import { tooBig } from './remote-input.js';
import { isConditionalConflict, isNotFound, isPreconditionFailed, remoteFailure } from './s3-errors.js';
import { describeLocation, type S3Location } from './s3-location.js';

/**
 * Keys of one bucket prefix: the S3 requests the store is made of, each failure turned into a
 * coded remote error, and every read bounded (a key larger than its reader allows is refused,
 * naming it, before more than that is read).
 */
export class S3Bucket {
  readonly location: string;
  readonly client: S3Client;

  constructor(
    readonly loc: S3Location,
    client?: S3Client,
  ) {
    this.location = describeLocation(loc);
    this.client = client ?? new S3Client(s3ClientConfig(loc));
  }

  key(path: string): string {
    return `${this.loc.prefix}${path}`;
  }

  /** Deletes keys (relative to the prefix), 1,000 per request. */
  async deleteKeys(paths: string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += 1000) {
      const chunk = paths.slice(i, i + 1000);
      await this.send('deleting objects', () => this.client.send(new DeleteObjectsCommand({ Bucket: this.loc.bucket, Delete: { Objects: chunk.map((p) => ({ Key: this.key(p) })), Quiet: true } })));
    }
  }

  /** Every key under a path (relative to the prefix) with size and last-modified time. */
  async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modified: Date | undefined }> {
    for await (const page of this.listPages(prefix)) {
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified };
    }
  }

  // ---- plumbing ------------------------------------------------------------------------

  protected async *listPages(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.send(`listing ${prefix || '/'}`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token })));
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  protected async headSize(Key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, `checking ${Key}`);
    }
  }

  /** A key's bytes, refused (naming the key) when over `maxBytes`: never more than that is read. */
  protected async getBytes(Key: string, action: string, Range?: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer | undefined> {
    let body: Readable;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key, Range }));
      body = out.Body as Readable;
      if ((out.ContentLength ?? 0) > maxBytes) {
        body.destroy();
        throw tooBig(this.display(Key), out.ContentLength!, maxBytes);
      }
    } catch (e) {
      if (e instanceof StoreError) throw e;
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, action);
    }
    return this.readBounded(body, Key, action, maxBytes);
  }

  /** A response body read whole, refused (and the download stopped) once past `maxBytes`: a mirror's declared length is not trusted. */
  private async readBounded(body: Readable, Key: string, action: string, maxBytes: number): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this.guarded(body, action)) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        body.destroy();
        throw tooBig(this.display(Key), size, maxBytes);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }

  /** A response body whose network errors become coded remote errors. */
  protected async *guarded(body: Readable, action: string): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (e) {
      throw remoteFailure(e, this.loc, action);
    }
  }

  /** A full key as users see it: s3://bucket/prefix/… */
  protected display(Key: string): string {
    return `${this.location}${Key.slice(this.loc.prefix.length)}`;
  }

  protected async putBytes(Key: string, Body: Buffer, action: string): Promise<void> {
    await this.send(action, () => this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key, Body })));
  }

  /**
   * A key's bytes and ETag (for a later writeIfUnchanged), refused over `maxBytes` as getBytes.
   * Undefined when the key is absent.
   */
  protected async getVersioned(Key: string, action: string, maxBytes: number): Promise<{ bytes: Buffer; etag: string } | undefined> {
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw remoteFailure(e, this.loc, action);
    }
    const body = out.Body as Readable;
    if ((out.ContentLength ?? 0) > maxBytes || !out.ETag) {
      body.destroy();
      if (!out.ETag) throw new StoreError('STORE_CORRUPT_RECORD', `The mirror returned ${this.display(Key)} without an ETag, so it cannot be updated safely.`, { file: this.display(Key), fix: 'Use AWS S3 or an S3-compatible server that returns ETags.' });
      throw tooBig(this.display(Key), out.ContentLength!, maxBytes);
    }
    return { bytes: await this.readBounded(body, Key, action, maxBytes), etag: out.ETag };
  }

  /**
   * PUT only if the key still has `etag` (`If-Match`), or is still absent when `etag` is
   * undefined (`If-None-Match: *`): true when written, false when someone else changed it first
   * (412, or 409 for overlapping conditional writes): the caller reads again and retries.
   */
  protected async putIfUnchanged(Key: string, Body: Buffer, etag: string | undefined, action: string): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key, Body, ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }) }));
      return true;
    } catch (e) {
      if (isPreconditionFailed(e) || isConditionalConflict(e) || (etag !== undefined && isNotFound(e))) return false;
      throw remoteFailure(e, this.loc, action);
    }
  }

  /** PUT with `If-None-Match: *`: true when this call created the key, false when it existed. */
  protected async conditionalPut(Key: string, Body: Buffer, action: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key, Body, IfNoneMatch: '*' }));
        return true;
      } catch (e) {
        if (isPreconditionFailed(e)) return false;
        if (isConditionalConflict(e) && attempt < 5) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        throw remoteFailure(e, this.loc, action);
      }
    }
  }

  protected async send<T>(action: string, call: () => Promise<T>): Promise<T> {
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
