import type { ArtifactRef } from '../metadata/records.js';
import type { TaskJob } from '../task/protocol.js';

/** Every artifact a task may read: what it inherits, its join inputs, its foreach split. */
export function inputRefs(job: TaskJob): ArtifactRef[] {
  return [...Object.values(job.inherited), ...(job.inputs ?? []).flatMap((i) => Object.values(i.artifacts)), ...(job.foreach ? [job.foreach.artifact] : [])];
}

/** Plain objects a task reads besides artifacts: its @includeFile inputs. */
export function inputObjects(job: TaskJob): string[] {
  return Object.values(job.includes ?? {}).map((i) => i.hash);
}
