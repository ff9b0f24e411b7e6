import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Run, openStore } from '../client/client.js';
import { cardTask, renderTaskCard } from '../ui/cards/page.js';
import { parsePathspec } from './views.js';

/** `flow card RUN/STEP[/TASK] [--out F]`: the task's card as one self-contained HTML file. */
export async function exportCard(path: string, out: string | undefined, id: string | undefined): Promise<{ html: string; task: string; out?: string }> {
  const p = parsePathspec(path, 'step');
  const run = await Run.open(openStore(), p.run);
  const task = await cardTask(run, p.step!, p.task);
  const html = await renderTaskCard(task, id ?? null);
  if (!out) return { html, task: task.pathspec };
  const file = resolve(out);
  writeFileSync(file, html);
  return { html, task: task.pathspec, out: file };
}
