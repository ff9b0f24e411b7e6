import { openProjectStore } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import { renderDiff } from '../diff/render.js';
import { replayRun } from '../replay/replay.js';

export async function startReplay(o: { run: string; paramArgv: string[]; maxWorkers?: number; quiet: boolean; json: boolean; log: (l: string) => void }): Promise<{ exitCode: number; json: unknown }> {
  const config = loadConfig(process.cwd());
  const store = openProjectStore(config);
  const out = await replayRun({
    config, store, run: o.run, paramArgv: o.paramArgv, maxWorkers: o.maxWorkers, quiet: o.quiet, json: o.json,
    warn: (l) => { if (!o.quiet) process.stderr.write(`warning: ${l}\n`); },
    info: (l) => { if (!o.quiet) process.stderr.write(`${l}\n`); },
    onStart: (r) => { if (!o.json) process.stdout.write(`${r.id}\n`); if (!o.quiet) process.stderr.write(`${r.id}: replaying ${o.run} (${r.flow}) from its code package\n`); },
  });
  if (out.diff) {
    o.log(renderDiff(out.diff, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
    return { exitCode: out.exitCode, json: { schema: 'flowrun.replay/1', run: out.record, diff: out.diff } };
  }
  const v = out.record.verdict!;
  const bad = out.checks.filter((c) => c.status !== 'reproduced');
  for (const c of bad.slice(0, 20)) o.log(`  ${c.status === 'diverged' ? '≠' : '?'} ${c.task} ${c.artifact}: ${c.status}`);
  if (bad.length > 20) o.log(`  … ${bad.length - 20} more (--json lists all)`);
  const total = v.artifacts.reproduced + v.artifacts.diverged + v.artifacts.missing;
  if (v.reproduced) o.log(`${out.record.id}: reproduced ${o.run} bit for bit: ${total} of ${total} artifacts match`);
  else {
    const f = v.firstDivergence!;
    o.log(`${out.record.id}: did NOT reproduce ${o.run}: ${v.artifacts.diverged} diverged, ${v.artifacts.missing} missing, ${v.artifacts.reproduced} reproduced of ${total} artifacts`);
    o.log(`  first divergence: step ${f.step}, artifact ${f.artifact} (${f.task}, ${f.kind})`);
    o.log(`  compare them: flow diff ${o.run} ${out.record.id}`);
  }
  return { exitCode: out.exitCode, json: { schema: 'flowrun.replay/1', run: out.record, verdict: v, checks: out.checks } };
}
