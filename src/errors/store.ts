import type { ErrorCode } from './catalog.js';
import { ExitCode, FlowError, type FlowErrorOptions } from './flow-error.js';

/** A corrupt, missing or unreadable part of the store (exit 3). */
export class StoreError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.storeIntegrity, ...options });
    this.name = 'StoreError';
  }
}

/** An artifact value that flowrun cannot store (a task failure, exit 1). */
export class ArtifactError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.runFailed, ...options });
    this.name = 'ArtifactError';
  }
}

/** A run, step, task or artifact that does not exist (exit 2). */
export class NotFoundError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.usage, ...options });
    this.name = 'NotFoundError';
  }
}

/** A remote service (S3 mirror, registry, Batch) that is unreachable or refuses us (exit 4). */
export class RemoteError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.remote, ...options });
    this.name = 'RemoteError';
  }
}
