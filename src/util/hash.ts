import { sha256Hex, sha256HexOfPieces } from './primordials.js';

/** sha256 hex digest; on captured crypto methods, so a step patching Hash.prototype cannot bend object ids. */
export function sha256(data: string | Uint8Array): string {
  return sha256Hex(data);
}

/** sha256 hex digest of data given in pieces (`feed` passes each, in order, to `update`). */
export function sha256OfPieces(feed: (update: (data: string | Uint8Array) => void) => void): string {
  return sha256HexOfPieces(feed);
}

/** A sha256 in hex: the form of every object id. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
