import { ConfigError } from '../errors/index.js';

/** Where an S3 store lives and how to reach it (`.flowrc` `mirror`, or `store: "s3://…"`). */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading slash, ending in '/' unless empty. */
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

// Bucket naming rules (AWS): 3–63 chars, lowercase letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://bucket[/prefix]`; a malformed URL is a ConfigError naming where it came from. */
export function parseS3Url(url: string, source: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url.trim());
  const bucket = m?.[1] ?? '';
  if (!m || !BUCKET.test(bucket)) {
    throw new ConfigError(`${source}: ${JSON.stringify(url)} is not an S3 URL of the form s3://bucket/prefix.`, {
      key: source,
      fix: 'Use s3://<bucket>/<optional/prefix>, e.g. s3://my-team-flows/flowrun (bucket names are 3-63 lowercase letters, digits, dots and hyphens).',
    });
  }
  const rest = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (rest.split('/').some((part) => part === '..' || part === '.')) {
    throw new ConfigError(`${source}: the prefix of ${JSON.stringify(url)} contains "." or ".." segments.`, { key: source, fix: 'Use a plain prefix such as s3://bucket/team/flows.' });
  }
  return { bucket, prefix: rest ? `${rest}/` : '' };
}

export function isS3Url(value: string | undefined): value is string {
  return typeof value === 'string' && value.startsWith('s3://');
}

export function describeLocation(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}
