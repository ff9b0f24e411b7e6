/**
 * The command of every flowrun Batch job (`node -e <this, bundled and minified>`), the same on AWS
 * and on the local endpoint. It needs nothing but Node ≥ 20 in the image:
 *   1. checks the Node version (an old image gets an error naming it and the requirement);
 *   2. gets the job role's credentials and GETs the task-runtime bundle FLOW_BUNDLE from the run's
 *      S3 store (or takes it from the cache directory, when a host volume or image provides one);
 *   3. checks its sha256, writes its files to a fresh directory and runs the task from there.
 * A failure prints one `flowrun-error: {json}` line (code, message, fix) that the orchestrator reads
 * from the job's log, and exits 2 (usage), 3 (store integrity) or 4 (remote/infra).
 * This file is never imported by the orchestrator: it is bundled to CommonJS as a string.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../../util/fs-atomic.js';
import { containerCredentials, objectUrl, s3Get } from './s3-get.js';

const MIN_NODE = 20;

interface LoaderError {
  code: string;
  message: string;
  fix: string;
  exitCode: number;
}

function fail(e: LoaderError): never {
  process.stderr.write(`flowrun loader: ${e.code}: ${e.message}\n  fix: ${e.fix}\nflowrun-error: ${JSON.stringify(e)}\n`);
  process.exit(e.exitCode);
}

const env = process.env;
const started = process.cpuUsage();

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (!(major >= MIN_NODE)) {
    fail({ code: 'BATCH_IMAGE_NODE', exitCode: 4, message: `The image ${env.FLOW_IMAGE ?? '(unknown)'} runs Node ${process.version}; flowrun tasks need Node >= ${MIN_NODE}.`, fix: 'Use an image with Node 20 or later (e.g. node:20, or the Dockerfile in templates/aws/), in @batch({ image }) or .flowrc batch.image.' });
  }
  const hash = env.FLOW_BUNDLE ?? '';
  const store = /^s3:\/\/([^/]+)\/?(.*)$/.exec(env.FLOW_STORE_URL ?? '');
  if (!/^[0-9a-f]{64}$/.test(hash) || !store) {
    fail({ code: 'BATCH_BOOTSTRAP_ENV', exitCode: 2, message: 'FLOW_BUNDLE or FLOW_STORE_URL is missing: this command runs inside a Batch job submitted by flowrun.', fix: 'Run flows with flow run FILE --with batch.' });
  }
  const prefix = store[2] ? `${store[2].replace(/\/$/, '')}/` : '';
  const target = {
    bucket: store[1]!,
    key: `${prefix}objects/${hash.slice(0, 2)}/${hash}`,
    region: env.FLOW_S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: env.FLOW_S3_ENDPOINT,
    forcePathStyle: env.FLOW_S3_FORCE_PATH_STYLE ? env.FLOW_S3_FORCE_PATH_STYLE === 'true' : undefined,
  };
  const where = `s3://${target.bucket}/${target.key}`;
  const cacheFile = join(env.FLOW_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flowrun'), 'batch-bundles', `${hash}.json`);
  let doc: Buffer | undefined;
  try {
    doc = readFileSync(cacheFile);
  } catch {
    /* not cached */
  }
  let downloaded = 0;
  if (!doc || sha256(doc) !== hash) {
    doc = decode(await fetchObject(target, where), hash, where);
    downloaded = doc.byteLength;
    saveQuietly(cacheFile, doc);
  }
  const files = parseBundle(doc, where);
  const root = mkdtempSync(join(tmpdir(), 'flowrun-bundle-'));
  for (const [path, text] of Object.entries(files)) {
    const file = normalize(join(root, path));
    if (!file.startsWith(`${root}/`)) fail(corrupt(where, `it names the path ${path}`));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const cpu = process.cpuUsage(started);
  const main = (await import(pathToFileURL(join(root, 'dist/src/batch/container/main.js')).href)) as { runContainerTask(o: unknown): Promise<number> };
  process.exitCode = await main.runContainerTask({ bundleDir: root, loader: { cpuMs: (cpu.user + cpu.system) / 1000, bundleBytes: downloaded, bundleFromCache: downloaded === 0 } });
}

async function fetchObject(target: Parameters<typeof s3Get>[0], where: string): Promise<Buffer> {
  let creds;
  try {
    creds = await containerCredentials(env);
  } catch (e) {
    fail({ code: 'BATCH_JOB_CREDENTIALS', exitCode: 4, message: `The job could not get its role's credentials: ${(e as Error).message}.`, fix: 'Give the job a role (batch.jobRoleArn in .flowrc) that the ECS tasks service may assume.' });
  }
  if (!creds) fail({ code: 'BATCH_JOB_CREDENTIALS', exitCode: 4, message: `The job has no AWS credentials to read ${where}.`, fix: 'Give the job a role with S3 access to the store (batch.jobRoleArn in .flowrc; templates/aws/batch-cloudformation.yaml creates one).' });
  let r;
  try {
    r = await s3Get(target, creds);
  } catch (e) {
    fail({ code: 'BATCH_STORE_UNREACHABLE', exitCode: 4, message: `The job cannot reach S3 at ${objectUrl(target)}: ${(e as Error).message}.`, fix: "Give the compute environment's subnets a route to S3 (an S3 gateway endpoint, a NAT gateway, or public IPs)." });
  }
  if (r.status === 200) return r.body;
  if (r.status === 404) fail({ code: 'BATCH_BUNDLE_MISSING', exitCode: 3, message: `The task runtime bundle ${where} is missing from the store.`, fix: 'Run the flow again: flowrun uploads the bundle before it submits jobs (a gc of the bucket may have removed it).' });
  if (r.status === 403) {
    const arn = `arn:aws:s3:::${target.bucket}/${target.key.slice(0, target.key.indexOf('objects/'))}*`;
    fail({
      code: 'BATCH_JOB_ACCESS_DENIED',
      exitCode: 4,
      message: `The job role may not read ${where} (HTTP 403: ${s3Code(r.body)}): it needs s3:GetObject (and s3:PutObject, s3:ListBucket) on ${arn}.`,
      fix: 'Grant the job role (batch.jobRoleArn) read and write access to the store prefix, as the JobRole of templates/aws/batch-cloudformation.yaml does.',
    });
  }
  fail({ code: 'BATCH_STORE_UNREACHABLE', exitCode: 4, message: `Reading ${where} failed: HTTP ${r.status} ${s3Code(r.body)}.`, fix: 'Check the store bucket and its region (batch.region / mirror.region).' });
}

/** Strips the store's object header ('FO', version, codec) and checks the content's hash. */
function decode(file: Buffer, hash: string, where: string): Buffer {
  if (file.byteLength < 4 || file[0] !== 0x46 || file[1] !== 0x4f) fail(corrupt(where, 'it has no flowrun object header'));
  let data: Buffer = file.subarray(4);
  if (file[3] === 1) {
    try {
      data = gunzipSync(data);
    } catch {
      fail(corrupt(where, 'its compressed data does not decode'));
    }
  } else if (file[3] !== 0) fail(corrupt(where, `its codec ${file[3]} is unknown`));
  const actual = sha256(data);
  if (actual !== hash) fail(corrupt(where, `its content hashes to ${actual}`));
  return data;
}

function parseBundle(doc: Buffer, where: string): Record<string, string> {
  try {
    const parsed = JSON.parse(doc.toString('utf8')) as { schema?: string; files?: Record<string, string> };
    if (parsed.schema === 'flowrun.bundle/1' && parsed.files && typeof parsed.files === 'object') return parsed.files;
  } catch {
    /* reported below */
  }
  return fail(corrupt(where, 'it is not a flowrun bundle document'));
}

function corrupt(where: string, why: string): LoaderError {
  return { code: 'BATCH_BUNDLE_CORRUPT', exitCode: 3, message: `The task runtime bundle ${where} is corrupt: ${why}.`, fix: 'Delete that object from the bucket and run the flow again (flowrun uploads a good copy); then run flow fsck --remote.' };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function s3Code(body: Buffer): string {
  return /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1] ?? '';
}

function saveQuietly(file: string, doc: Buffer): void {
  try {
    writeFileAtomic(file, doc);
  } catch {
    /* a read-only cache is only slower */
  }
}

main().catch((e: unknown) => fail({ code: 'BATCH_BOOTSTRAP_FAILED', exitCode: 4, message: `The job's loader failed: ${(e as Error)?.stack ?? String(e)}`, fix: "See the job's log stream (flow logs RUN/STEP/TASK)." }));
