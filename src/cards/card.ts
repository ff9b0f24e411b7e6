import type { ImageMime } from './image-type.js';
import type { CardRef } from '../metadata/records.js';

/** A table cell as stored: JSON scalars only (dates and big integers become strings). */
export type CardCell = string | number | boolean | null;

/** One part of a stored card: data only, rendered to HTML by `flow ui` and `flow card`. */
export type CardPart =
  | { type: 'markdown'; text: string }
  | { type: 'table'; title?: string; columns: string[]; rows: CardCell[][] }
  | { type: 'image'; title?: string; alt?: string; mime: ImageMime; object: string; size: number }
  | { type: 'vega-lite'; title?: string; spec: Record<string, unknown> }
  | { type: 'artifact'; title?: string; name: string }
  /** A part that could not be stored, with why (a failing card never fails its task). */
  | { type: 'error'; message: string };

/** cards/<hash>: what a task's card is, stored content-addressed like an artifact. */
export interface CardDoc {
  schema: 'flowrun.card/1';
  id: string;
  title?: string;
  run: string;
  step: string;
  task: string;
  parts: CardPart[];
}

export type { CardRef };

/** Limits that keep a card a report, not a second artifact store. */
export const CARD_LIMITS = {
  parts: 1000,
  textChars: 1 << 20,
  tableCells: 500_000,
  imageBytes: 16 << 20,
  specChars: 8 << 20,
} as const;
