import type { Run, Task } from '../../client/client.js';
import { NotFoundError, StoreError } from '../../errors/index.js';
import type { StoreReader } from '../reader.js';
import { cardsOf } from '../model/task.js';
import type { CardDoc } from '../../cards/card.js';
import { renderCardHtml } from './render.js';

/** A task's card document, read from the store and checked for shape. */
export function readCard(task: Task, id: string | null): CardDoc {
  const cards = cardsOf(task.record);
  const ref = id ? cards.find((c) => c.id === id) : cards[0];
  if (!ref) {
    throw new NotFoundError('CARD_NOT_FOUND', `Task ${task.pathspec} has no card${id ? ` ${JSON.stringify(id)}` : ''}.`, {
      step: task.step,
      fix: 'Give the step a card: @card() on it, or currentCard.append(...) in it.',
    });
  }
  const doc = JSON.parse(task.store.getObjectSync(ref.hash).toString('utf8')) as CardDoc;
  if (doc?.schema !== 'flowrun.card/1' || !Array.isArray(doc.parts)) {
    throw new StoreError('STORE_CORRUPT_OBJECT', `The card object ${ref.hash} of ${task.pathspec} is not a card document.`, { fix: 'Run flow fsck.' });
  }
  return doc;
}

/** A task's card as one HTML document (for the UI's frame and for `flow card`). */
export async function renderTaskCard(task: Task, id: string | null): Promise<string> {
  const doc = readCard(task, id);
  return renderCardHtml(doc, {
    object: (hash) => task.store.getObjectSync(hash),
    artifactNames: () => task.artifactNames(),
    artifact: (name) => task.artifact(name),
  });
}

/** The task a card path names: RUN/STEP/TASK, or RUN/STEP when the step has one task with a card. */
export async function cardTask(run: Run, step: string, task: string | undefined): Promise<Task> {
  const s = run.step(step);
  if (task !== undefined) return s.task(task);
  const tasks = await s.tasks();
  const withCard = tasks.filter((t) => cardsOf(t.record).length > 0);
  if (withCard.length === 1) return withCard[0]!;
  if (withCard.length === 0) throw new NotFoundError('CARD_NOT_FOUND', `No task of ${run.id}/${step} has a card.`, { step, fix: 'Give the step a card: @card() on it, or currentCard.append(...) in it.' });
  throw new NotFoundError('CARD_AMBIGUOUS', `${withCard.length} tasks of ${run.id}/${step} have a card.`, {
    step,
    fix: `Name the task: ${run.id}/${step}/${withCard[0]!.id} (tasks: ${withCard
      .slice(0, 8)
      .map((t) => t.id)
      .join(', ')}${withCard.length > 8 ? ', …' : ''}).`,
  });
}

export async function cardPage(reader: StoreReader, run: string, step: string, task: string, id: string | null): Promise<string> {
  return renderTaskCard((await reader.open(run)).step(step).task(task), id);
}
