import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import type { S3Store } from '../../src/store/s3.js';

/**
 * Tools of an attacker who can write any key of the mirror's bucket: raw reads and writes of
 * keys (relative to the store's prefix), straight through the S3 client, bypassing flowrun.
 */
export class Forger {
  constructor(readonly store: S3Store) {}

  async get(rel: string): Promise<Buffer> {
    const out = await this.store.client.send(new GetObjectCommand({ Bucket: this.store.loc.bucket, Key: this.store.key(rel) }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async getJson<T = Record<string, unknown>>(rel: string): Promise<T> {
    return JSON.parse((await this.get(rel)).toString('utf8')) as T;
  }

  async put(rel: string, body: Buffer | string | object): Promise<void> {
    const Body = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    await this.store.client.send(new PutObjectCommand({ Bucket: this.store.loc.bucket, Key: this.store.key(rel), Body }));
  }

  async delete(rel: string): Promise<void> {
    await this.store.client.send(new DeleteObjectCommand({ Bucket: this.store.loc.bucket, Key: this.store.key(rel) }));
  }

  /** Keys under the prefix, relative to it. */
  async keys(under = ''): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.store.client.send(new ListObjectsV2Command({ Bucket: this.store.loc.bucket, Prefix: this.store.key(under), ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.store.loc.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Copies every key of `from` to this store's prefix (a fresh copy of a legitimate mirror). */
  async copyFrom(from: Forger): Promise<void> {
    for (const rel of await from.keys()) await this.put(rel, await from.get(rel));
  }
}

/**
 * An object file (flowrun's 'FO' header, gzip codec) that is a few MiB on the wire and inflates
 * to `inflatedMiB` of zeros: concatenated gzip members of 64 MiB each (gunzip reads them all).
 */
export function gzipBombFile(inflatedMiB: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  const members = Math.ceil(inflatedMiB / 64);
  return Buffer.concat([Buffer.from([0x46, 0x4f, 1, 1]), ...Array.from({ length: members }, () => member)]);
}
