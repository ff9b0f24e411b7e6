import { styleText } from 'node:util';
import { PATH_DISPLAY_MAX, displayValue as v } from '../util/terminal.js';
import type { RunDiff } from './diff.js';
import { type Cause, describeCauses } from './why.js';

const path = (p: string): string => v(p, PATH_DISPLAY_MAX);

type Style = (format: Parameters<typeof styleText>[0], text: string) => string;

/** The diff for a terminal: one block per section, nothing printed for what is equal. */
export function renderDiff(d: RunDiff, opts: { color: boolean; maxPerStep?: number }): string {
  const st: Style = opts.color ? styleText : (_f, t) => t;
  const max = opts.maxPerStep ?? 8;
  const out: string[] = [st('bold', `flow diff ${d.a} ${d.b}  (${v(d.flow)})`)];
  const c = d.code;
  const commit = (x: string | null | undefined) => (x ? x.slice(0, 10) : '(no git)');
  if (c.packageSame && c.commit.from === c.commit.to) {
    out.push(`code         identical (commit ${commit(c.commit.from)}${c.dirty.from ? ', dirty' : ''})`);
  } else {
    out.push(`code         commit ${commit(c.commit.from)}${c.dirty.from ? '+dirty' : ''} → ${commit(c.commit.to)}${c.dirty.to ? '+dirty' : ''}${c.packageSame ? ', same files' : ''}`);
    for (const f of c.added) out.push(st('green', `               + ${path(f)}`));
    for (const f of c.removed) out.push(st('red', `               - ${path(f)}`));
    for (const f of c.changed) out.push(st('yellow', `               ~ ${path(f)}`));
  }
  out.push(d.params.length ? `params       ${d.params.map((p) => v(`${p.name}: ${fmt(p.from)} → ${fmt(p.to)}`)).join(', ')}` : 'params       identical');
  // Records made before the seed was part of the diff's JSON have no `seed` there.
  if (d.seed) out.push(d.seed.from === d.seed.to ? `seed         identical (${d.seed.from})` : st('yellow', `seed         ${d.seed.from} → ${d.seed.to} (Math.random in every task draws from it)`));
  if (d.inputs.length) {
    out.push('inputs       included file content changed');
    for (const i of d.inputs) {
      const where = path(i.path.from === i.path.to ? (i.path.to ?? '') : `${i.path.from ?? '(none)'} → ${i.path.to ?? '(none)'}`);
      out.push(st('yellow', `               ~ ${v(i.name)} (${where}): ${short(i.hash.from)} → ${short(i.hash.to)}, ${i.size.from ?? 0} B → ${i.size.to ?? 0} B`));
    }
  }
  out.push(d.env.length ? `environment  ${d.env.map((e) => v(`${e.what}: ${short(e.from)} → ${short(e.to)}`, PATH_DISPLAY_MAX)).join(', ')}` : 'environment  identical');
  for (const e of d.envPackages.slice(0, 4 * max)) {
    const mark = e.kind === 'added' ? st('green', '+') : e.kind === 'removed' ? st('red', '-') : st('yellow', '~');
    out.push(`  ${mark} ${e.step}: ${e.manager === 'conda' ? 'conda ' : ''}${v(`${e.name} ${e.kind === 'changed' ? `${e.from} → ${e.to}` : (e.from ?? e.to)}`)}`);
  }
  if (d.envPackages.length > 4 * max) out.push(`  … ${d.envPackages.length - 4 * max} more package changes (--json lists all)`);
  if (d.cache) {
    const use = (id: string, u: NonNullable<RunDiff['cache']>['a']) => `${id} reused ${u.reused} of ${u.tasks} tasks${u.from.length ? ` (from ${u.from.join(', ')})` : ''}`;
    out.push(`cache        ${use(d.a, d.cache.a)}; ${use(d.b, d.cache.b)}`);
  }
  const steps = d.steps.filter((s) => s.artifacts.length || s.onlyInA.length || s.onlyInB.length || s.status.from !== s.status.to);
  if (steps.length === 0) out.push('artifacts    identical in every step');
  else out.push('artifacts');
  const width = Math.max(0, ...steps.map((s) => s.step.length));
  for (const s of steps) {
    const head = `  ${s.step.padEnd(width)}`;
    const notes: string[] = [];
    if (s.status.from !== s.status.to) notes.push(`status ${s.status.from} → ${s.status.to}`);
    if (s.tasks.from !== s.tasks.to) notes.push(`${s.tasks.from} → ${s.tasks.to} tasks (matched by index)`);
    const why = s.why?.length ? `  ${whyText(s.why)}` : '';
    out.push(`${head}  ${notes.join('; ') || `${s.artifacts.length} artifact change${s.artifacts.length === 1 ? '' : 's'}`}${why}`);
    for (const a of s.artifacts.slice(0, max)) {
      const mark = a.kind === 'added' ? st('green', '+') : a.kind === 'removed' ? st('red', '-') : st('yellow', '~');
      out.push(`    ${mark} ${a.task} ${v(a.artifact)}${a.detail ? `: ${v(a.detail, PATH_DISPLAY_MAX)}` : ''}`);
    }
    if (s.artifacts.length > max) out.push(`    … ${s.artifacts.length - max} more (--json lists all)`);
  }
  if (c.patches) for (const p of Object.values(c.patches)) out.push('', colorPatch(p, st));
  out.push('', st('bold', d.differs.length ? `≠ ${d.verdict}` : `= ${d.verdict}`));
  return out.join('\n');
}

/** Why a step's artifacts differ, in a few words. */
function whyText(causes: readonly Cause[]): string {
  if (causes.length === 1 && causes[0]!.kind === 'seed') return '(only the seed differs for it: its Math.random draws)';
  return `(because of: ${v(describeCauses(causes), PATH_DISPLAY_MAX)})`;
}

function fmt(v: unknown): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}

function short(v: string | null | undefined): string {
  // Hashes are cut to 12 characters; names and paths are shown whole.
  return v === null || v === undefined ? '(none)' : v.length > 16 && /^[0-9a-f]+$/.test(v) ? v.slice(0, 12) : v;
}

function colorPatch(p: string, st: Style): string {
  return p
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? st('green', l) : l.startsWith('-') && !l.startsWith('---') ? st('red', l) : l))
    .join('\n');
}
