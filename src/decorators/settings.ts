import type { StepNode } from '../graph/types.js';
import type { Literal } from './types.js';

/** What a step's decorators ask of the local runtime, read from the graph (pure). */
export interface StepSettings {
  /** Total attempts: 1 + @retry times (default 3 when @retry has no times). */
  attempts: number;
  retryDelayMs: number;
  timeoutMs?: number;
  /** @catchError: the artifact that receives the error. */
  catchVar?: string;
  printException: boolean;
  env: Record<string, string>;
  /** @resources memory, applied locally as the worker's V8 heap limit. */
  heapMB?: number;
}

const num = (v: Literal | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

export function stepSettings(step: StepNode): StepSettings {
  const opts = (name: string) => step.decorators.find((d) => d.name === name)?.options;
  const retry = opts('retry');
  const timeout = opts('timeout');
  const caught = opts('catchError');
  const env = opts('environment');
  const resources = opts('resources');
  const timeoutS = timeout ? (num(timeout.seconds) ?? 0) + 60 * (num(timeout.minutes) ?? 0) + 3600 * (num(timeout.hours) ?? 0) : undefined;
  return {
    attempts: retry ? 1 + (num(retry.times) ?? 3) : 1,
    retryDelayMs: retry ? 60_000 * (num(retry.minutesBetween) ?? 0) : 0,
    timeoutMs: timeoutS ? timeoutS * 1000 : undefined,
    catchVar: caught ? (typeof caught.var === 'string' ? caught.var : 'exception') : undefined,
    printException: caught?.printException !== false,
    env: (env?.vars as Record<string, string> | undefined) ?? {},
    heapMB: num(resources?.memory),
  };
}
