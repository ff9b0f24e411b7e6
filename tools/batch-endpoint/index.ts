export { startBatchEndpoint, type BatchEndpoint } from './server.js';
export { BatchEmulator, BatchApiError, type EmulatorOptions } from './emulator.js';
export type { FaultRule, FaultSettings, Job, JobStatus } from './types.js';
export { bwrapAvailable, type ImageSpec, NO_REGISTRY } from './sandbox.js';
