import { sha256Hex } from './primordials.js';

/** sha256 hex digest; on captured crypto methods, so a step patching Hash.prototype cannot bend object ids. */
export function sha256(data: string | Uint8Array): string {
  return sha256Hex(data);
}

/** A sha256 in hex: the form of every object id. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
