import { type TestRegistry, freePort, startRegistry as start } from '../../bench/registry.js';
import { REPO } from './cli.js';

export { type TestRegistry, freePort };

/** A real npm registry (verdaccio 6.8) on 127.0.0.1, shared with the bench (bench/registry.ts). */
export function startRegistry(dir: string): Promise<TestRegistry> {
  return start(dir, REPO);
}
