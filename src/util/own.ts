/**
 * `obj[key]` for keys that come from users, records or mirrors: only the object's own property,
 * so `constructor`, `__proto__` or `toString` never find Object.prototype's members.
 */
export function own<T>(obj: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  return obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}
