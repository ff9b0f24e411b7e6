/** The `.flowrc` keys (DESIGN §7), their types and the environment variables that override them. */
export type ConfigValueType = 'string' | 'integer' | 'boolean' | 'string|null' | 'string[]' | 'object';

/** Most tasks run at once on one machine: each is a Node process (~40 MB), so more is a fork bomb, not a speed-up. */
export const MAX_WORKERS = 1024;

export interface ConfigKeySpec {
  type: ConfigValueType;
  env?: string;
  help: string;
  /** For `type: 'object'`: the nested keys. */
  keys?: Record<string, ConfigKeySpec>;
  /** Integers: the smallest allowed value. */
  min?: number;
  /** Integers: the largest allowed value; lists: the most entries. */
  max?: number;
}

export const CONFIG_SCHEMA: Record<string, ConfigKeySpec> = {
  store: { type: 'string', env: 'FLOW_STORE', help: 'store location: a directory relative to the .flowrc (default .flow at the project root), never one holding the project or a system folder, or s3://bucket/prefix' },
  maxWorkers: { type: 'integer', env: 'FLOW_MAX_WORKERS', min: 1, max: MAX_WORKERS, help: `tasks run at once, 1 to ${MAX_WORKERS} (default: number of cores)` },
  mirror: {
    type: 'object',
    help: 'S3 mirror of the store',
    keys: {
      url: { type: 'string', env: 'FLOW_MIRROR_URL', help: 's3://bucket/prefix' },
      endpoint: { type: 'string|null', env: 'FLOW_S3_ENDPOINT', help: 'S3-compatible endpoint URL (default: AWS)' },
      region: { type: 'string', env: 'FLOW_S3_REGION', help: 'AWS region' },
      forcePathStyle: { type: 'boolean', env: 'FLOW_S3_FORCE_PATH_STYLE', help: 'path-style addressing (most S3-compatible servers need it)' },
      autoPush: { type: 'boolean', env: 'FLOW_MIRROR_AUTO_PUSH', help: 'push each finished run (default true)' },
    },
  },
  batch: {
    type: 'object',
    help: 'AWS Batch backend',
    keys: {
      queue: { type: 'string', env: 'FLOW_BATCH_QUEUE', help: 'job queue name or ARN' },
      image: { type: 'string', env: 'FLOW_BATCH_IMAGE', help: 'container image with Node >= 20' },
      region: { type: 'string', env: 'FLOW_BATCH_REGION', help: 'AWS region' },
      endpoint: { type: 'string|null', env: 'FLOW_BATCH_ENDPOINT', help: 'Batch API endpoint (default: AWS)' },
      jobRoleArn: { type: 'string|null', env: 'FLOW_BATCH_JOB_ROLE_ARN', help: 'IAM role the jobs run as' },
      runnableTimeoutSeconds: { type: 'integer', env: 'FLOW_BATCH_RUNNABLE_TIMEOUT', min: 1, help: 'fail a job that stays RUNNABLE this long (default 1800)' },
      executionRoleArn: { type: 'string|null', env: 'FLOW_BATCH_EXECUTION_ROLE_ARN', help: 'Fargate task execution role (pulls the image, writes the logs)' },
      assignPublicIp: { type: 'boolean', env: 'FLOW_BATCH_ASSIGN_PUBLIC_IP', help: 'Fargate: give tasks a public IP (default true; false in private subnets with a NAT gateway or endpoints)' },
      logEverySeconds: { type: 'integer', env: 'FLOW_BATCH_LOG_EVERY', min: 0, help: "upload a running task's output this often (default 10; 0: at the end)" },
    },
  },
  cache: {
    type: 'object',
    help: 'the step cache',
    keys: {
      default: { type: 'boolean', env: 'FLOW_CACHE_DEFAULT', help: 'cache every step of every run, as flow run --cache does (default false: only @cache() steps)' },
    },
  },
  codePackage: {
    type: 'object',
    help: 'the code package snapshotted with every run',
    keys: {
      maxBytes: { type: 'integer', env: 'FLOW_CODE_PACKAGE_MAX_BYTES', min: 1, max: 2 ** 31, help: 'size guard in bytes, at most 2 GiB (default 50 MiB)' },
      exclude: { type: 'string[]', env: 'FLOW_CODE_PACKAGE_EXCLUDE', max: 1000, help: 'a list of globs relative to the project root, e.g. ["data/**", "*.sqlite"] (env: a JSON list or comma-separated)' },
    },
  },
};
