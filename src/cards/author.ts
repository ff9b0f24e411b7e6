/**
 * The authoring side of cards: what a step calls to build its report. Imported into every
 * task worker, so it is plain code with no dependencies; nothing here validates eagerly or
 * throws: a part that cannot be stored becomes an error shown on the card (a failing card
 * never fails its task). Modelled on Metaflow's cards: `@card` on the step, then
 * `currentCard.append(new Markdown(...))`, `new Table(...)`, `new Image(...)`, `new VegaChart(...)`
 * and `new Artifact(...)`.
 */

/** A component as appended: its kind and what it was given (checked when the card is stored). */
export interface CardComponent {
  readonly kind: 'markdown' | 'table' | 'image' | 'vega-lite' | 'artifact';
  readonly input: unknown;
  readonly options: { title?: string; alt?: string; columns?: string[] };
}

/** Markdown text (CommonMark; raw HTML in it is shown as text, never as markup). */
export class Markdown implements CardComponent {
  readonly kind = 'markdown';
  readonly options = {};
  constructor(readonly input: string) {}
}

/**
 * A table: an array of records (columns from their keys, in first-seen order) or an array of
 * rows, with `columns` naming them.
 */
export class Table implements CardComponent {
  readonly kind = 'table';
  constructor(
    readonly input: ReadonlyArray<Record<string, unknown>> | ReadonlyArray<ReadonlyArray<unknown>>,
    readonly options: { title?: string; columns?: string[] } = {},
  ) {}
}

/** An image from its bytes: PNG, JPEG, GIF, WebP or SVG (recognised by content, shown through <img>). */
export class Image implements CardComponent {
  readonly kind = 'image';
  constructor(
    readonly input: Uint8Array,
    readonly options: { title?: string; alt?: string } = {},
  ) {}
}

/** A chart from a Vega-Lite spec (data inline: a card never loads anything), rendered when shown. */
export class VegaChart implements CardComponent {
  readonly kind = 'vega-lite';
  constructor(
    readonly input: Record<string, unknown>,
    readonly options: { title?: string } = {},
  ) {}
}

/** The value of one of the task's artifacts, shown with the viewer that fits it. */
export class Artifact implements CardComponent {
  readonly kind = 'artifact';
  constructor(
    readonly input: string,
    readonly options: { title?: string } = {},
  ) {}
}

/** The card being built by the task running in this process (one task at a time per worker). */
export interface CardBuffer {
  components: CardComponent[];
  title?: string;
  /** Declared with @card (shown even when nothing was appended). */
  declared: boolean;
}

// On globalThis under a registered symbol: the user's `flowrun` and the worker's may be two
// copies of the module, and both must reach the same buffer.
const SLOT: unique symbol = Symbol.for('flowrun.card') as never;
type Slotted = Record<typeof SLOT, CardBuffer | undefined>;

export function activeCard(): CardBuffer | undefined {
  return (globalThis as unknown as Slotted)[SLOT];
}

export function setActiveCard(card: CardBuffer | undefined): void {
  (globalThis as unknown as Slotted)[SLOT] = card;
}

/** The current task's card (Metaflow's `current.card`). Outside a task, appending does nothing. */
export const currentCard = {
  append(component: CardComponent): void {
    activeCard()?.components.push(component);
  },
  extend(components: Iterable<CardComponent>): void {
    for (const c of components) currentCard.append(c);
  },
  clear(): void {
    const card = activeCard();
    if (card) card.components.length = 0;
  },
  /** Sets the card's title (the step's @card title by default). */
  set title(title: string | undefined) {
    const card = activeCard();
    if (card) card.title = title;
  },
  get title(): string | undefined {
    return activeCard()?.title;
  },
};
