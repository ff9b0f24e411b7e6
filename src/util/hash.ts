import { createHash } from 'node:crypto';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A sha256 in hex: the form of every object id. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
