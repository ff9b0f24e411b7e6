import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BatchEndpoint, bwrapAvailable, type EmulatorOptions, startBatchEndpoint } from '../../tools/batch-endpoint/index.js';
import { S3_TEST_ENV, type S3TestServer, startS3Server } from './s3.js';

/**
 * The local endpoint runs each job in bubblewrap. Without it a Batch test file says so and skips
 * locally; under CI=true a missing bwrap fails the file (.ci/run installs it), never a skip.
 */
export function batchTestsRunnable(): boolean {
  if (bwrapAvailable()) return true;
  if (process.env.CI === 'true') throw new Error('The Batch tests need bubblewrap (bwrap), which is missing or cannot create namespaces here; .ci/run installs it (apt-get install bubblewrap).');
  process.stderr.write('SKIPPED: the Batch tests need bubblewrap (bwrap) to run jobs as containers: apt-get install bubblewrap\n');
  return false;
}

export const JOB_ROLE = 'arn:aws:iam::000000000000:role/flowrun-test-job';

/** The local Batch endpoint and the S3 test server, with jobs given the job role's (test) credentials. */
export interface BatchWorld {
  s3: S3TestServer;
  batch: BatchEndpoint;
  stop(): Promise<void>;
}

export async function startBatchWorld(options: EmulatorOptions = {}): Promise<BatchWorld> {
  const s3 = await startS3Server();
  const batch = await startBatchEndpoint({
    slots: 4,
    queues: ['flow-queue'],
    roleCredentials: { [JOB_ROLE]: { ...S3_TEST_ENV } },
    ...options,
  });
  return {
    s3,
    batch,
    stop: async () => {
      await batch.close();
      await s3.stop();
    },
  };
}

/** Writes a .flowrc sending @batch steps to the endpoint, with the jobs' S3 store in a fresh bucket (returned). */
export async function configureBatch(project: string, world: BatchWorld, extra: Record<string, unknown> = {}, o: { primary?: boolean } = {}): Promise<string> {
  const bucket = await world.s3.bucket();
  writeFileSync(
    join(project, '.flowrc'),
    JSON.stringify(
      {
        // primary: the store itself is given as s3://… (FLOW_STORE) by the test; else S3 is the mirror.
        mirror: { ...(o.primary ? {} : { url: `s3://${bucket}/flows`, autoPush: false }), endpoint: world.s3.endpoint, region: 'us-east-1', forcePathStyle: true },
        batch: { queue: 'flow-queue', endpoint: world.batch.url, region: 'us-east-1', jobRoleArn: JOB_ROLE, ...extra },
      },
      null,
      2,
    ),
  );
  return bucket;
}

/** Environment for the orchestrator (`flow run`): the S3 test credentials via the SDK's default chain. */
export const ORCHESTRATOR_ENV = { ...S3_TEST_ENV };
