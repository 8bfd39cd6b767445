import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * API keys look like `wdn_<prefix>_<secret><checksum>`:
 * - `wdn_` lets secret scanners and people recognise one;
 * - `prefix`, 8 base62 characters, identifies the key (stored and shown in clear);
 * - `secret`, 32 base62 characters (190 bits);
 * - `checksum`, CRC32 of everything before it in 6 base62 characters, so a typo or a made-up
 *   key fails before any lookup.
 */
const FORMAT = /^wdn_([A-Za-z0-9]{8})_[A-Za-z0-9]{32}([A-Za-z0-9]{6})$/
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
export const API_KEY_LENGTH = 51

function base62 (n: number, width: number): string {
  let out = ''
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

function randomBase62 (length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62]
    }
  }
  return out
}

/** The 6-character checksum of a key body (everything before the checksum). */
export function checksum (body: string): string {
  return base62(crc32(body), 6)
}

/** A new key and its prefix. The key is shown to its owner once and never stored. */
export function generateApiKey (): { key: string, prefix: string } {
  const prefix = randomBase62(8)
  const body = `wdn_${prefix}_${randomBase62(32)}`
  return { key: body + checksum(body), prefix }
}

/** The prefix of a well-formed key whose checksum holds, else `undefined`. */
export function apiKeyPrefix (key: string): string | undefined {
  if (key.length !== API_KEY_LENGTH) return undefined
  const match = FORMAT.exec(key)
  if (match === null || checksum(key.slice(0, -6)) !== match[2]) return undefined
  return match[1]
}

