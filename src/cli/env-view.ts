import type { Run } from '../client/client.js';
import { type LockedPackage, lockedPackages } from '../env/npm.js';
import { StoreError } from '../errors/index.js';
import { table } from './format.js';

/** `flow env RUN/STEP`: the environment a step ran in. */
export interface EnvView {
  schema: 'flowrun.env/1';
  run: string;
  step: string;
  /** 'npm': the step's own locked environment; 'project': the project's node_modules. */
  kind: 'npm' | 'project';
  lock: string | null;
  spec?: { packages: Record<string, string>; node?: string };
  /** The project's lock file, for steps without their own environment. */
  lockfile?: { name: string; hash: string } | null;
  packages: LockedPackage[];
}

export function stepEnvView(run: Run, step: string): EnvView {
  run.step(step); // a clear error for an unknown step
  const r = run.record;
  const env = r.stepEnvs?.[step];
  if (!env) return { schema: 'flowrun.env/1', run: r.id, step, kind: 'project', lock: r.envLocks?.[step] ?? null, lockfile: r.env?.lockfile ?? null, packages: [] };
  let lock: Buffer;
  try {
    lock = run.store.getObjectSync(env.lock);
  } catch (e) {
    throw new StoreError('ENV_LOCK_MISSING', `The npm lock ${env.lock.slice(0, 12)} of ${r.id}/${step} cannot be read from the store.`, { step, fix: 'Run flow fsck; a copy of the store (or flow pull) can restore it.', cause: e });
  }
  return { schema: 'flowrun.env/1', run: r.id, step, kind: 'npm', lock: env.lock, spec: env.spec, packages: lockedPackages(lock) };
}

export function renderEnv(v: EnvView): string {
  if (v.kind === 'project') {
    const lf = v.lockfile ? `${v.lockfile.name} ${v.lockfile.hash.slice(0, 12)}` : 'no lock file';
    return `${v.run}/${v.step} has no @npm environment: it used the project's node_modules (${lf}).`;
  }
  const spec = Object.entries(v.spec!.packages).map(([n, r]) => `${n}@${r}`).join(' ');
  const out = [`${v.run}/${v.step}  npm lock ${v.lock}`, `  spec  ${spec}${v.spec!.node ? `  node ${v.spec!.node}` : ''}`, ''];
  out.push(...table([['  PACKAGE', 'VERSION', 'PATH'], ...v.packages.map((p) => [`  ${p.name}`, p.version, p.path])]));
  return out.join('\n');
}
