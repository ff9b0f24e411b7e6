/** A value as JSON where it can be: Maps become objects or entry lists, BigInts strings, binary base64. */
export function toJsonValue(v: unknown, depth = 0): unknown {
  if (depth > 1000) return '…';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => toJsonValue(x, depth + 1));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Map) {
    const stringKeys = [...v.keys()].every((k) => typeof k === 'string');
    return stringKeys ? Object.fromEntries([...v].map(([k, x]) => [k, toJsonValue(x, depth + 1)])) : [...v].map(([k, x]) => [toJsonValue(k, depth + 1), toJsonValue(x, depth + 1)]);
  }
  if (v instanceof Set) return [...v].map((x) => toJsonValue(x, depth + 1));
  if (v instanceof RegExp) return v.toString();
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    const bytes = ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v);
    return { type: v.constructor.name, bytes: bytes.byteLength, base64: bytes.byteLength <= 4096 ? bytes.toString('base64') : undefined };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x, depth + 1)]));
}
