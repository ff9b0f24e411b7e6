import { UsageError } from '../errors/index.js';
import { kebab } from '../metadata/names.js';
import { PATH_DISPLAY_MAX, displayValue } from '../util/terminal.js';
import { loadFlowGraph } from './load.js';
import { paramArgs } from './run-command.js';

/**
 * `flow resume FILE --alpha 3`: a resumed run reuses its origin's parameters (its reused tasks
 * were computed with them), so a parameter flag there is a misunderstanding, not an unknown
 * flag. Says so, and how to get a run with the new value. Flags that are not the flow's
 * parameters are left to the command's own parsing (oclif's unknown-flag error).
 */
export async function refuseResumeParams(argv: readonly string[], flags: Record<string, { type: string; char?: string }>): Promise<void> {
  const split = paramArgs(argv, flags);
  const given = split.params.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!);
  const file = split.rest.find((a) => !a.startsWith('-'));
  if (given.length === 0 || !file) return;
  let loaded;
  try {
    loaded = await loadFlowGraph(file);
  } catch {
    return; /* the command reports a bad flow file itself */
  }
  const names = new Set(loaded.graph.params.flatMap((p) => [p.name, kebab(p.name)]));
  const params = given.filter((g) => names.has(g));
  if (params.length === 0) return;
  const shown = displayValue(loaded.analysis.displayPath, PATH_DISPLAY_MAX);
  const flagsText = params.map((p) => `--${p}`).join(', ');
  const values = split.params.join(' ');
  throw new UsageError('RESUME_PARAMS', `flow resume reuses the parameters of the run it resumes (its reused tasks were computed with them), so ${flagsText} cannot be set on a resume.`, {
    file: loaded.analysis.displayPath,
    param: params[0],
    fix: `Start a new run with the new value: flow run ${shown} ${values}; or compare with a past run: flow replay <run> ${values} (a what-if replay).`,
  });
}
