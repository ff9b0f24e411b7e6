import Module, { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { type EnvMessage, type TaskModuleEnv, packageName } from './env-hooks.js';
import { recaptureObject } from './realm.js';

/** A task's @npm environment as the worker receives it. */
export interface TaskNpmEnv {
  /** The installed environment's node_modules directory. */
  modules: string;
  /** Package names the step resolves from it. */
  names: string[];
}

interface Current {
  env: TaskModuleEnv;
  modulePath: string;
  require: NodeJS.Require;
}
let current: Current | null = null;
let port: MessagePort | undefined;
let seq = 0;

/**
 * Points the step's imports (ESM through the loader hooks, CJS require through
 * Module._resolveFilename) at the task's environment, or back at the project's node_modules.
 * The hooks are registered on the first task that has an environment, so a flow without @npm
 * pays nothing; a task without one after one with one clears the mapping (one IPC round trip).
 */
export async function useTaskEnvironment(modulePath: string, npm: TaskNpmEnv | undefined): Promise<void> {
  if (!npm && !current) return;
  const parent = npm ? join(npm.modules, '..', 'package.json') : '';
  const env = npm ? { moduleUrl: pathToFileURL(modulePath).href, parentUrl: pathToFileURL(parent).href, names: npm.names } : null;
  current = env && npm ? { env, modulePath, require: createRequire(parent) } : null;
  port ??= startHooks();
  const id = ++seq;
  await new Promise<void>((resolve) => {
    const onAck = (ack: number) => {
      if (ack === id) {
        port!.off('message', onAck);
        port!.unref();
        resolve();
      }
    };
    port!.on('message', onAck);
    port!.ref();
    port!.postMessage({ seq: id, env } satisfies EnvMessage);
  });
}

/** Registers the hooks now (a worker of a flow that uses @npm does this at start-up, before its first task). */
export function preloadEnvironmentHooks(): void {
  port ??= startHooks();
}

function startHooks(): MessagePort {
  // Required here: only a flow with @npm steps needs worker_threads (5 of Node's modules to load).
  const { MessageChannel } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const { port1, port2 } = new MessageChannel();
  register(new URL('./env-hooks.js', import.meta.url), { data: { port: port2 }, transferList: [port2] });
  patchRequire();
  // flowrun's own change to node:module: part of the state tasks start from, not one to undo.
  recaptureObject(Module);
  return port1;
}

type ResolveFilename = (request: string, parent: { filename?: string | null } | undefined, ...rest: unknown[]) => string;

/** require() from the step's module (createRequire(import.meta.url)) resolves the environment's packages too. */
function patchRequire(): void {
  const M = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = M._resolveFilename;
  M._resolveFilename = function (this: unknown, request, parent, ...rest) {
    const c = current;
    if (c && parent?.filename === c.modulePath && c.env.names.includes(packageName(request))) return c.require.resolve(request);
    return original.call(this, request, parent, ...rest);
  };
}
