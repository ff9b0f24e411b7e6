import { inspect, isDeepStrictEqual } from 'node:util';

/** One field (or item) that differs between two values of an artifact, each side summarized. */
export interface FieldChange {
  /** `.w`, `[3]`, `.model.lam`, `.get("a")`. */
  path: string;
  /** Absent when the field is only in the other value. */
  from?: string;
  to?: string;
}

/** How many differing fields are listed; the count says how many more there are. */
const MAX_FIELDS = 8;
/** How deep objects are followed field by field. */
const MAX_DEPTH = 4;

/**
 * How two values of one artifact differ, for people: containers field by field (only what
 * differs, `w: 0.99 → 0.98`), other values old → new in a few characters. Pure.
 */
export function compareValues(a: unknown, b: unknown): { detail: string; fields?: FieldChange[]; more?: number } {
  // A short list of scalars reads best whole: [ 4, 5, 2 ] → [ 2, 1, 0 ].
  const whole = (v: unknown) => Array.isArray(v) && !summarize(v).startsWith('array[');
  if (isContainer(a) && isContainer(b) && kindOf(a) === kindOf(b) && !(whole(a) && whole(b))) {
    const fields: FieldChange[] = [];
    let total = 0;
    walkDiff(a, b, '', 0, (f) => {
      total++;
      if (fields.length < MAX_FIELDS) fields.push(f);
    });
    // An array whose length changed says that first: items compared by index are then mostly noise.
    const lengths = Array.isArray(a) && Array.isArray(b) && a.length !== b.length ? `${shapeOf(a)} → ${shapeOf(b)}: ` : '';
    if (total > 0) {
      const more = total - fields.length;
      const detail = lengths + fields.map((f) => `${f.path.replace(/^\./, '')}: ${f.from ?? '(none)'} → ${f.to ?? '(none)'}`).join(', ') + (more ? `, … ${more} more` : '');
      return { detail, fields, ...(more ? { more } : {}) };
    }
  }
  return { detail: `${summarize(a)} → ${summarize(b)}` };
}

/** The shapes of two big values: `array[1000] of number → array[1200] of number`, or "same shape". */
export function compareShapes(a: unknown, b: unknown, sizes: { from: number; to: number }): string {
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  return sa === sb ? `same shape, ${sa}; other values (${sizes.from} B → ${sizes.to} B)` : `${sa} → ${sb}`;
}

/** A value's shape in a few words: type and size, and for arrays their items' shape. */
export function shapeOf(v: unknown, depth = 0): string {
  if (typeof v === 'string') return `string(${v.length})`;
  if (typeof v !== 'object' || v === null) return typeof v === 'object' ? 'null' : typeof v;
  if (Array.isArray(v)) return v.length === 0 || depth > 1 ? `array[${v.length}]` : `array[${v.length}] of ${shapeOf(v[0], depth + 1)}`;
  if (Buffer.isBuffer(v)) return `Buffer(${v.length} B)`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${'length' in v ? (v as unknown as { length: number }).length : v.byteLength}]`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (v instanceof Set) return `Set(${v.size})`;
  if (v instanceof Date) return 'Date';
  const keys = Object.keys(v);
  return `object{${keys.length <= 5 ? keys.join(', ') : `${keys.slice(0, 5).join(', ')}, … ${keys.length} keys`}}`;
}

/** A value in a few characters: scalars and short strings as they are, containers by shape. */
export function summarize(v: unknown): string {
  if (typeof v === 'string') return v.length <= 60 ? JSON.stringify(v) : `string(${v.length})`;
  if (typeof v !== 'object' || v === null) return inspect(v);
  if (Array.isArray(v)) return v.length <= 6 && v.every((x) => typeof x !== 'object' || x === null) ? inspect(v, { breakLength: Infinity }) : `array[${v.length}]`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (v instanceof Set) return `Set(${v.size})`;
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} B)`;
  const keys = Object.keys(v);
  return keys.length <= 4 ? inspect(v, { breakLength: Infinity, depth: 1 }) : `object{${keys.length} keys}`;
}

type Container = Record<string, unknown> | unknown[] | Map<unknown, unknown>;

function kindOf(v: Container): string {
  return Array.isArray(v) ? 'array' : v instanceof Map ? 'map' : 'object';
}

function isContainer(v: unknown): v is Container {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v) || v instanceof Map) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function entries(v: Container): Array<[string, unknown]> {
  if (Array.isArray(v)) return v.map((x, i) => [`[${i}]`, x]);
  if (v instanceof Map) return [...v].map(([k, x]) => [`.get(${typeof k === 'string' ? JSON.stringify(k) : summarize(k)})`, x]);
  return Object.keys(v).map((k) => [/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`, v[k]]);
}

function walkDiff(a: Container, b: Container, path: string, depth: number, emit: (f: FieldChange) => void): void {
  const ea = new Map(entries(a));
  const eb = new Map(entries(b));
  for (const [k, x] of ea) {
    const p = path + k;
    if (!eb.has(k)) {
      emit({ path: p, from: summarize(x) });
      continue;
    }
    const y = eb.get(k);
    if (sameValue(x, y)) continue;
    if (depth < MAX_DEPTH && isContainer(x) && isContainer(y) && kindOf(x) === kindOf(y)) walkDiff(x, y, p, depth + 1, emit);
    else emit({ path: p, from: summarize(x), to: summarize(y) });
  }
  for (const [k, y] of eb) if (!ea.has(k)) emit({ path: path + k, to: summarize(y) });
}

function sameValue(x: unknown, y: unknown): boolean {
  return Object.is(x, y) || isDeepStrictEqual(x, y);
}
