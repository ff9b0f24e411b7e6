/** Names a step, artifact or parameter may not take: FlowSpec members and run-time slots. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['next', 'input', 'index', 'inputs', 'run', 'name', 'flow', 'mergeArtifacts', 'constructor', 'foreachStack']);

/**
 * Members of every object (`toString`, `valueOf`, `__proto__`, ...): a step, artifact or
 * parameter with such a name would shadow them on the flow instance and turn up in every
 * record lookup by name.
 */
export const OBJECT_MEMBER_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Why `name` may not name a step, artifact or parameter, or undefined. */
export function reservedWhy(name: string): string | undefined {
  if (RESERVED_NAMES.has(name)) return 'reserved by flowrun';
  if (OBJECT_MEMBER_NAMES.has(name)) return 'taken by Object.prototype (every object has it)';
  return undefined;
}

/** Flags of `flow run`/`resume`/`replay`; a parameter with the same name could not be set. */
export const RUN_FLAGS: ReadonlySet<string> = new Set(['help', 'version', 'json', 'debug', 'quiet', 'max-workers', 'max-num-splits', 'tag', 'seed', 'with', 'environment', 'store', 'origin', 'step', 'run-id', 'dry-run', 'cache', 'no-cache', 'user']);

export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
