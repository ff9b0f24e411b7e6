import { sha256Hex } from './primordials.js';

/** sha256 hex digest; on captured crypto methods, so a step patching Hash.prototype cannot bend object ids. */
export function sha256(data: string | Uint8Array): string {
  return sha256Hex(data);
}
