/** Names a step, artifact or parameter may not take: FlowSpec members and run-time slots. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'next', 'input', 'index', 'inputs', 'run', 'name', 'flow', 'mergeArtifacts', 'constructor', 'foreachStack',
]);

/** Flags of `flow run`/`resume`/`replay`; a parameter with the same name could not be set. */
export const RUN_FLAGS: ReadonlySet<string> = new Set([
  'help', 'version', 'json', 'debug', 'quiet', 'max-workers', 'max-num-splits', 'tag', 'seed', 'with',
  'environment', 'store', 'origin', 'step', 'run-id', 'dry-run',
]);

export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
