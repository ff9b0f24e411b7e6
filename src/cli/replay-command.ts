import './backends.js';
import { openProjectStore } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import { renderDiff } from '../diff/render.js';
import { replayRun } from '../replay/replay.js';
import { renderReplayReport } from '../replay/report.js';
import { parseWith } from '../graph/with.js';
import { currentUser } from '../metadata/user.js';
import { runView } from './run-view.js';

export async function startReplay(o: { run: string; paramArgv: string[]; maxWorkers?: number; with?: string[]; tags?: string[]; user?: string; quiet: boolean; verbose: boolean; json: boolean; log: (l: string) => void }): Promise<{ exitCode: number; json: unknown }> {
  const config = loadConfig(process.cwd());
  const store = openProjectStore(config);
  const out = await replayRun({
    config,
    store,
    run: o.run,
    paramArgv: o.paramArgv,
    maxWorkers: o.maxWorkers,
    with: (o.with ?? []).map(parseWith),
    tags: o.tags,
    user: currentUser(o.user),
    quiet: o.quiet,
    events: runView({
      quiet: o.quiet,
      json: o.json,
      onStarted: (r) => {
        if (!o.json) process.stdout.write(`${r.id}\n`);
        if (!o.quiet) process.stderr.write(`${r.id}: replaying ${o.run} (${r.flow}) from its code package\n`);
      },
    }),
  });
  if (out.diff) {
    o.log(renderDiff(out.diff, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
    return { exitCode: out.exitCode, json: { schema: 'flowrun.replay/1', run: out.record, diff: out.diff } };
  }
  const v = out.record.verdict!;
  for (const line of renderReplayReport({ original: o.run, replay: out.record.id, checks: out.checks, verdict: v, verbose: o.verbose, quiet: o.quiet })) o.log(line);
  return { exitCode: out.exitCode, json: { schema: 'flowrun.replay/1', run: out.record, verdict: v, checks: out.checks } };
}
