/**
 * A signed S3 GET in ~80 lines of node: builtins, for the job loader: it runs before any package
 * is available in the container (the bundle it fetches is what brings the AWS SDK). Credentials
 * come from where AWS documents them for a container: the environment, the ECS/Batch container
 * credentials endpoint (the job role), or the instance's metadata service (IMDSv2).
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
export interface HttpResult {
  status: number;
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** One HTTP(S) request, the whole body read; network errors reject. */
export function http(url: string, o: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: o.method ?? 'GET', headers: o.headers, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** The job's credentials, in the order the SDK's default chain looks for them in a container. */
export async function containerCredentials(env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };
  }
  const ecs = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ? `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}` : env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (ecs) {
    const token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
    const r = await http(ecs, { headers: token ? { authorization: token } : {}, timeoutMs: 5000 });
    if (r.status === 200) return fromJson(r.body);
    throw new Error(`the container credentials endpoint answered HTTP ${r.status}`);
  }
  try {
    const base = 'http://169.254.169.254/latest';
    const token = (await http(`${base}/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '900' }, timeoutMs: 1000 })).body.toString();
    const headers = { 'x-aws-ec2-metadata-token': token };
    const role = (await http(`${base}/meta-data/iam/security-credentials/`, { headers, timeoutMs: 1000 })).body.toString().split('\n')[0];
    if (!role) return undefined;
    return fromJson((await http(`${base}/meta-data/iam/security-credentials/${role}`, { headers, timeoutMs: 1000 })).body);
  } catch {
    return undefined;
  }
}

function fromJson(body: Buffer): Credentials {
  const j = JSON.parse(body.toString('utf8')) as { AccessKeyId: string; SecretAccessKey: string; Token?: string };
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token };
}

export interface S3Target {
  bucket: string;
  key: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

/** The object's URL: path style for a custom endpoint (or when asked), virtual-hosted on AWS. */
export function objectUrl(t: S3Target): string {
  const key = t.key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
  if (t.endpoint) {
    const e = new URL(t.endpoint);
    const base = e.origin + e.pathname.replace(/\/$/, '');
    return t.forcePathStyle === false ? `${e.protocol}//${t.bucket}.${e.host}${e.pathname.replace(/\/$/, '')}/${key}` : `${base}/${t.bucket}/${key}`;
  }
  return t.forcePathStyle ? `https://s3.${t.region}.amazonaws.com/${t.bucket}/${key}` : `https://${t.bucket}.s3.${t.region}.amazonaws.com/${key}`;
}

/** GETs an object with a SigV4-signed request (AWS's documented algorithm, payload unsigned). */
export function s3Get(t: S3Target, creds: Credentials, now = new Date()): Promise<HttpResult> {
  const url = new URL(objectUrl(t));
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]}\n`).join('');
  const canonical = `GET\n${url.pathname}\n\n${canonicalHeaders}\n${names.join(';')}\nUNSIGNED-PAYLOAD`;
  const scope = `${day}/${t.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), t.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return http(url.href, { headers });
}
