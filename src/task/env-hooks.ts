/**
 * Module customization hooks (module.register), loaded once per worker on the loader thread.
 * They make a step's own imports of the packages its @npm environment names resolve from that
 * environment. Workers are reused across steps, so the mapping is per task: the worker posts
 * it over a MessagePort before importing the task's flow module and waits for the ack.
 */
import type { MessagePort } from 'node:worker_threads';

/** What the current task's imports may see: the flow module and its environment. */
export interface TaskModuleEnv {
  /** file: URL of the compiled flow module (without the per-task query). */
  moduleUrl: string;
  /** file: URL of a file in the environment's root, whose node_modules holds its packages. */
  parentUrl: string;
  names: string[];
}

export interface EnvMessage {
  seq: number;
  env: TaskModuleEnv | null;
}

interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<{ url: string; format?: string | null; shortCircuit?: boolean }>;

let current: TaskModuleEnv | null = null;

export function initialize(data: { port: MessagePort }): void {
  data.port.on('message', (m: EnvMessage) => {
    current = m.env;
    data.port.postMessage(m.seq);
  });
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): ReturnType<NextResolve> {
  const env = current;
  if (env && context.parentURL && context.parentURL.split('?')[0] === env.moduleUrl && env.names.includes(packageName(specifier))) {
    return nextResolve(specifier, { ...context, parentURL: env.parentUrl });
  }
  return nextResolve(specifier, context);
}

/** `lodash/fp` → `lodash`, `@scope/pkg/x` → `@scope/pkg`; relative, absolute and URL specifiers → ''. */
export function packageName(specifier: string): string {
  if (/^[./]|^[a-z][a-z0-9+.-]*:/i.test(specifier)) return '';
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}
