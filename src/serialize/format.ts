/** Version of the artifact encoding ("fra" = flowrun artifact); bumped on any change to the bytes. */
export const FORMAT_VERSION = 1;

/** A JSON value as written: plain JSON plus `{ $fr: tag, ... }` objects for everything else. */
export type Tagged = null | boolean | number | string | Tagged[] | { [key: string]: Tagged };

/** Binary types an artifact may hold, by exact constructor; the decoder maps names to constructors from this list only. */
export const BINARY_KINDS = ['Buffer', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;
export type BinaryKind = (typeof BINARY_KINDS)[number];
