import { timingSafeEqual } from 'node:crypto'

/**
 * Compare two secrets (or digests of them) in time that depends only on their lengths.
 * Digests of equal length are the intended input; a length mismatch returns false at once,
 * which reveals nothing when both sides are fixed-size digests.
 */
export function safeEqual (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
