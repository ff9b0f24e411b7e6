import type { S3Store } from '../../store/s3.js';
import type { TaskNpmEnv } from '../../task/env-resolution.js';
import type { TaskPayload } from '../payload.js';

export interface InstalledEnvironments {
  /** Variables the step's environment sets (conda: PATH, CONDA_PREFIX), computed here, in the container. */
  vars: Record<string, string>;
  npm?: TaskNpmEnv;
}

/** Installs the payload's environments from the store: nothing is fetched from a registry or channel. */
export async function installEnvironments(payload: TaskPayload, _o: { store: S3Store; codeDir: string; get: (what: string, hash: string) => Promise<Buffer>; log: (line: string) => void }): Promise<InstalledEnvironments> {
  if (payload.project || payload.npm || payload.conda) throw new Error('environments in containers are not implemented yet');
  return { vars: {} };
}
