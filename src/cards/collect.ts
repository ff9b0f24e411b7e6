import type { SyncStore } from '../store/types.js';
import { type CardBuffer, type CardComponent, activeCard, setActiveCard } from './author.js';
import { CARD_LIMITS, type CardCell, type CardDoc, type CardPart, type CardRef } from './card.js';
import { sniffImage } from './image-type.js';

/** Starts the task's card: empty, titled by its step's @card (if it has one). */
export function beginCard(declared: { title?: string } | undefined): void {
  setActiveCard({ components: [], declared: declared !== undefined, title: declared?.title });
}

/** Detaches the task's card from the realm (before the worker puts its globals back). */
export function takeCard(): CardBuffer | undefined {
  const card = activeCard();
  setActiveCard(undefined);
  return card;
}

/**
 * Ends the task's card: its parts are checked and stored (images as objects of their own),
 * then the card document, content-addressed. Never throws: a part that cannot be stored is
 * an error part, and a card that cannot be stored at all is left out (the task is unaffected).
 */
export function finishCard(card: CardBuffer | undefined, store: SyncStore, task: { run: string; step: string; task: string }): CardRef[] | undefined {
  if (!card || (!card.declared && card.components.length === 0)) return undefined;
  try {
    const doc = cardDoc(card, store, task);
    const hash = store.putObjectSync(Buffer.from(JSON.stringify(doc)), { compress: true });
    const errors = doc.parts.filter((p) => p.type === 'error').length;
    return [{ id: doc.id, hash, ...(doc.title !== undefined ? { title: doc.title } : {}), ...(errors ? { errors } : {}) }];
  } catch {
    return undefined; // the store refused the card (disk full, permissions): the task's own result stands
  }
}

function cardDoc(card: CardBuffer, store: SyncStore, task: { run: string; step: string; task: string }): CardDoc {
  const parts: CardPart[] = [];
  for (const c of card.components.slice(0, CARD_LIMITS.parts)) {
    try {
      parts.push(part(c, store));
    } catch (e) {
      parts.push({ type: 'error', message: `${label(c)}: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  if (card.components.length > CARD_LIMITS.parts) parts.push({ type: 'error', message: `The card has ${card.components.length} parts; only the first ${CARD_LIMITS.parts} are kept.` });
  const doc: CardDoc = { schema: 'flowrun.card/1', id: 'default', run: task.run, step: task.step, task: task.task, parts };
  if (typeof card.title === 'string') doc.title = card.title.slice(0, 200);
  return doc;
}

function label(c: unknown): string {
  const kind = (c as CardComponent | null)?.kind;
  return kind === 'markdown' ? 'Markdown' : kind === 'table' ? 'Table' : kind === 'image' ? 'Image' : kind === 'vega-lite' ? 'VegaChart' : kind === 'artifact' ? 'Artifact' : 'card part';
}

function title(c: CardComponent): { title?: string } {
  return typeof c.options?.title === 'string' ? { title: c.options.title.slice(0, 200) } : {};
}

/** One component as stored data, or an Error saying why it cannot be. */
function part(c: CardComponent, store: SyncStore): CardPart {
  if (!c || typeof c !== 'object') throw new Error(`${String(c)} is not a card component (use new Markdown(...), new Table(...), new Image(...), new VegaChart(...) or new Artifact(...))`);
  switch (c.kind) {
    case 'markdown': {
      if (typeof c.input !== 'string') throw new Error(`expects a string, got ${typeName(c.input)}`);
      if (c.input.length > CARD_LIMITS.textChars) throw new Error(`${c.input.length} characters is more than a card holds (${CARD_LIMITS.textChars})`);
      return { type: 'markdown', text: c.input };
    }
    case 'table':
      return { type: 'table', ...title(c), ...table(c.input, c.options.columns) };
    case 'image': {
      const bytes = c.input;
      if (!(bytes instanceof Uint8Array)) throw new Error(`expects the image's bytes (a Buffer or Uint8Array), got ${typeName(bytes)}`);
      if (bytes.byteLength > CARD_LIMITS.imageBytes) throw new Error(`${bytes.byteLength} bytes is more than a card image may be (${CARD_LIMITS.imageBytes})`);
      const mime = sniffImage(bytes);
      if (!mime) throw new Error('the bytes are not a PNG, JPEG, GIF, WebP or SVG image');
      const alt = typeof c.options.alt === 'string' ? { alt: c.options.alt.slice(0, 500) } : {};
      return { type: 'image', ...title(c), ...alt, mime, object: store.putObjectSync(bytes), size: bytes.byteLength };
    }
    case 'vega-lite': {
      const spec = c.input;
      if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error(`expects a Vega-Lite spec (an object), got ${typeName(spec)}`);
      const text = JSON.stringify(spec);
      if (text.length > CARD_LIMITS.specChars) throw new Error(`the spec is ${text.length} characters of JSON, more than a card holds (${CARD_LIMITS.specChars})`);
      return { type: 'vega-lite', ...title(c), spec: JSON.parse(text) as Record<string, unknown> };
    }
    case 'artifact': {
      if (typeof c.input !== 'string' || c.input === '') throw new Error(`expects an artifact name, got ${typeName(c.input)}`);
      return { type: 'artifact', ...title(c), name: c.input };
    }
    default:
      throw new Error(`unknown component kind ${JSON.stringify((c as { kind?: unknown }).kind)}`);
  }
}

function table(input: unknown, columns: unknown): { columns: string[]; rows: CardCell[][] } {
  if (!Array.isArray(input)) throw new Error(`expects an array of records or of rows, got ${typeName(input)}`);
  const named = Array.isArray(columns) && columns.every((c) => typeof c === 'string') ? (columns as string[]) : undefined;
  let cols: string[];
  let rows: CardCell[][];
  if (input.every((r) => Array.isArray(r))) {
    const width = Math.max(0, named?.length ?? 0, ...input.map((r: unknown[]) => r.length));
    cols = named ?? Array.from({ length: width }, (_, i) => String(i));
    rows = input.map((r: unknown[]) => cols.map((_, i) => cell(r[i])));
  } else if (input.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) {
    const seen = new Set<string>(named);
    cols = [...(named ?? [])];
    if (!named)
      for (const r of input as Array<Record<string, unknown>>)
        for (const k of Object.keys(r))
          if (!seen.has(k)) {
            seen.add(k);
            cols.push(k);
          }
    rows = (input as Array<Record<string, unknown>>).map((r) => cols.map((k) => cell(Object.hasOwn(r, k) ? r[k] : undefined)));
  } else {
    throw new Error('expects every row to be a record (object) or every row to be an array');
  }
  if (cols.length * rows.length > CARD_LIMITS.tableCells) throw new Error(`${rows.length} rows × ${cols.length} columns is more than a card table holds (${CARD_LIMITS.tableCells} cells)`);
  return { columns: cols, rows };
}

function cell(v: unknown): CardCell {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}

export type { CardBuffer };
