import { sniffImage } from '../../cards/image-type.js';
import { toJsonValue } from '../../serialize/json-view.js';

/** Rows a table viewer shows (the rest is counted, not sent). */
export const TABLE_MAX_ROWS = 1000;
const TABLE_MAX_COLUMNS = 100;
const TEXT_MAX_CHARS = 200_000;
const JSON_MAX_NODES = 20_000;

export type Cell = string | number | boolean | null;

/** How the task page shows one artifact: a viewer fitted to the value, with data only (no markup). */
export type ArtifactView =
  | { kind: 'scalar'; type: string; text: string }
  | { kind: 'text'; text: string; length: number; truncated: boolean }
  | { kind: 'image'; mime: string; bytes: number }
  | { kind: 'table'; columns: string[]; rows: Cell[][]; totalRows: number; truncated: boolean }
  | { kind: 'json'; type: string; value: unknown; truncated: boolean }
  | { kind: 'binary'; type: string; bytes: number; head: string };

/** Picks the viewer for a value: tables for arrays of records, images for image bytes, and so on. Pure. */
export function viewOf(v: unknown): ArtifactView {
  if (typeof v === 'string') return { kind: 'text', text: v.slice(0, TEXT_MAX_CHARS), length: v.length, truncated: v.length > TEXT_MAX_CHARS };
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
    return { kind: 'scalar', type: v === null ? 'null' : typeof v, text: typeof v === 'bigint' ? `${v}n` : String(v) };
  }
  if (v instanceof Date) return { kind: 'scalar', type: 'Date', text: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() };
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    const bytes = bytesOf(v);
    const mime = sniffImage(bytes);
    if (mime) return { kind: 'image', mime, bytes: bytes.byteLength };
    return { kind: 'binary', type: v.constructor.name, bytes: bytes.byteLength, head: Buffer.from(bytes.subarray(0, 64)).toString('hex') };
  }
  const table = asTable(v);
  if (table) return table;
  const nodes = { left: JSON_MAX_NODES };
  const value = limit(toJsonValue(v), nodes);
  return { kind: 'json', type: typeName(v), value, truncated: nodes.left < 0 };
}

/** The bytes of an image artifact (undefined when the value is not one). */
export function imageBytes(v: unknown): { mime: string; bytes: Uint8Array } | undefined {
  if (!(ArrayBuffer.isView(v) || v instanceof ArrayBuffer)) return undefined;
  const bytes = bytesOf(v);
  const mime = sniffImage(bytes);
  return mime ? { mime, bytes } : undefined;
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  return ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);
}

function isScalar(x: unknown): boolean {
  return x === null || x === undefined || ['string', 'number', 'boolean', 'bigint'].includes(typeof x) || x instanceof Date;
}

function cell(x: unknown): Cell {
  if (x === undefined) return null;
  if (typeof x === 'bigint') return x.toString();
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? 'Invalid Date' : x.toISOString();
  if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
  return x as Cell;
}

/** An array of flat records (or of rows of scalars) as a table; anything else is not one. */
function asTable(v: unknown): ArtifactView | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (v.every((r) => Array.isArray(r) && r.every(isScalar))) {
    const width = Math.max(...v.map((r: unknown[]) => r.length));
    if (width === 0 || width > TABLE_MAX_COLUMNS) return undefined;
    const rows = v.slice(0, TABLE_MAX_ROWS).map((r: unknown[]) => Array.from({ length: width }, (_, i) => cell(r[i])));
    return { kind: 'table', columns: Array.from({ length: width }, (_, i) => String(i)), rows, totalRows: v.length, truncated: v.length > TABLE_MAX_ROWS };
  }
  const plain = (r: unknown): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r) && Object.getPrototypeOf(r) === Object.prototype;
  if (!v.every((r) => plain(r) && Object.values(r).every(isScalar))) return undefined;
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of v as Array<Record<string, unknown>>)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
  if (columns.length === 0 || columns.length > TABLE_MAX_COLUMNS) return undefined;
  const rows = (v as Array<Record<string, unknown>>).slice(0, TABLE_MAX_ROWS).map((r) => columns.map((c) => cell(Object.hasOwn(r, c) ? r[c] : undefined)));
  return { kind: 'table', columns, rows, totalRows: v.length, truncated: v.length > TABLE_MAX_ROWS };
}

/** Cuts a JSON value down to a node budget (long arrays and objects end with a marker). */
function limit(v: unknown, budget: { left: number }): unknown {
  budget.left--;
  if (v === null || typeof v !== 'object') return typeof v === 'string' && v.length > 10_000 ? `${v.slice(0, 10_000)}… (${v.length} chars)` : v;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      if (budget.left <= 0) {
        out.push(`… ${v.length - out.length} more items`);
        budget.left = -1;
        break;
      }
      out.push(limit(x, budget));
    }
    return out;
  }
  const out: Array<[string, unknown]> = [];
  const entries = Object.entries(v);
  for (const [i, [k, x]] of entries.entries()) {
    if (budget.left <= 0) {
      out.push(['…', `${entries.length - i} more keys`]);
      budget.left = -1;
      break;
    }
    out.push([k, limit(x, budget)]);
  }
  return Object.fromEntries(out); // defines `__proto__` as a key, never as the prototype
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return `array[${v.length}]`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (v instanceof Set) return `Set(${v.size})`;
  return v && typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}
