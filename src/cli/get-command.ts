import { Run, type Task, openStore } from '../client/client.js';
import { toJsonValue } from '../serialize/json-view.js';
import { parsePathspec, renderValue } from './views.js';

/**
 * `flow get PATH NAME [--all]`: one task's value, or with --all every task's of the step that
 * holds it, each printed under its pathspec. A step whose tasks hold different values is
 * ambiguous without a task or --all (ARTIFACT_AMBIGUOUS names them).
 */
export async function getArtifact(path: string, name: string, all: boolean): Promise<{ lines: string[]; json: unknown }> {
  const p = parsePathspec(path);
  const run = await Run.open(openStore(), p.run);
  let tasks: Task[];
  if (p.task !== undefined) tasks = [run.step(p.step!).task(p.task)];
  else if (all) tasks = p.step ? await run.step(p.step).artifactTasks(name) : await run.artifactTasks(name);
  else tasks = [p.step ? await run.step(p.step).artifactTask(name) : await run.artifactTask(name)];
  const values = [];
  const lines: string[] = [];
  for (const task of tasks) {
    const value = await task.artifact(name);
    const ref = task.record.artifacts[name]!;
    values.push({ schema: 'flowrun.get/1', run: run.id, step: task.step, task: task.id, name, hash: ref.hash, size: ref.size, value: toJsonValue(value) });
    if (all) lines.push(`${task.pathspec}: ${renderValue(value)}`);
    else lines.push(renderValue(value));
  }
  return { lines, json: all ? { schema: 'flowrun.get-all/1', run: run.id, name, values } : values[0] };
}
