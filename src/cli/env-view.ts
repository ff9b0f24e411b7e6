import type { Run } from '../client/client.js';
import { condaLockedPackages } from '../env/conda.js';
import { type LockedPackage, lockedPackages } from '../env/npm.js';
import { StoreError } from '../errors/index.js';
import type { CondaEnvRecord, StepEnvRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { own } from '../util/own.js';
import { displayValue } from '../util/terminal.js';

/** One locked environment of a step. */
export interface LockedEnvView {
  kind: 'npm' | 'conda';
  lock: string;
  spec: StepEnvRecord['spec'] | CondaEnvRecord['spec'];
  packages: LockedPackage[];
}

/** `flow env RUN/STEP`: the environments a step ran in. */
export interface EnvView {
  schema: 'flowrun.env/1';
  run: string;
  step: string;
  /** The step's own locked environments (@npm, @conda); empty when it used the project's node_modules only. */
  envs: LockedEnvView[];
  /** The project's lock file, which the step's other imports resolve from. */
  lockfile: { name: string; hash: string } | null;
}

export function stepEnvView(run: Run, step: string): EnvView {
  run.step(step); // a clear error for an unknown step
  const r = run.record;
  const envs: LockedEnvView[] = [];
  for (const env of [own(r.stepEnvs, step), own(r.condaEnvs, step)]) {
    if (!env) continue;
    let lock: Buffer;
    try {
      lock = run.store.getObjectSync(env.lock);
    } catch (e) {
      throw new StoreError('ENV_LOCK_MISSING', `The ${env.kind} lock ${env.lock.slice(0, 12)} of ${r.id}/${step} cannot be read from the store.`, { step, fix: 'Run flow fsck; a copy of the store (or flow pull) can restore it.', cause: e });
    }
    envs.push({ kind: env.kind, lock: env.lock, spec: env.spec, packages: env.kind === 'npm' ? lockedPackages(lock) : condaLockedPackages(lock) });
  }
  return { schema: 'flowrun.env/1', run: r.id, step, envs, lockfile: r.env?.lockfile ?? null };
}

export function renderEnv(v: EnvView): string {
  const lf = v.lockfile ? `${v.lockfile.name} ${v.lockfile.hash.slice(0, 12)}` : 'no lock file';
  if (v.envs.length === 0) return `${v.run}/${v.step} has no @npm or @conda environment: it used the project's node_modules (${lf}).`;
  const out: string[] = [];
  for (const e of v.envs) {
    const spec = Object.entries(e.spec.packages)
      .map(([n, r]) => displayValue(`${n}@${r}`))
      .join(' ');
    const extra = 'node' in e.spec && e.spec.node ? `  node ${e.spec.node}` : 'python' in e.spec && e.spec.python ? `  python ${e.spec.python}` : '';
    if (out.length) out.push('');
    out.push(`${v.run}/${v.step}  ${e.kind} lock ${e.lock}`, `  spec  ${spec}${extra}`, '');
    out.push(...table([['  PACKAGE', 'VERSION', e.kind === 'npm' ? 'PATH' : ''], ...e.packages.map((p) => [`  ${p.name}`, p.version, e.kind === 'npm' ? p.path : ''])]));
  }
  return out.join('\n');
}
