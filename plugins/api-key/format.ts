import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * API keys look like `wdn_<prefix>_<secret><checksum>`:
 * - `wdn_` lets secret scanners and people recognise one;
 * - `prefix`, 8 base62 characters, identifies the key (stored and shown in clear);
 * - `secret`, 32 base62 characters (190 bits);
 * - `checksum`, CRC32 of everything before it in 6 base62 characters, so a typo or a made-up
 *   key fails before any lookup.
 * This file is the one owner of that format: the scheme, the stores and a reference app's schemas
 * take its constants rather than repeat them.
 */
export const API_KEY_MARK = 'wdn_'
/** The length of a key's public prefix. */
export const API_KEY_PREFIX_LENGTH = 8
const SECRET_LENGTH = 32
const CHECKSUM_LENGTH = 6
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE62 = '[A-Za-z0-9]'

/** The length of every key: 51 characters. */
export const API_KEY_LENGTH = API_KEY_MARK.length + API_KEY_PREFIX_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
/** A key's shape as a JSON Schema `pattern` (what a response schema documents; the checksum is not checked). */
export const API_KEY_PATTERN =
  `^${API_KEY_MARK}${BASE62}{${API_KEY_PREFIX_LENGTH}}_${BASE62}{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`
/** A prefix's shape as a JSON Schema `pattern`. */
export const API_KEY_PREFIX_PATTERN = `^${BASE62}{${API_KEY_PREFIX_LENGTH}}$`
const FORMAT = new RegExp(
  `^${API_KEY_MARK}(${BASE62}{${API_KEY_PREFIX_LENGTH}})_${BASE62}{${SECRET_LENGTH}}(${BASE62}{${CHECKSUM_LENGTH}})$`)

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
  return base62(crc32(body), CHECKSUM_LENGTH)
}

/** A new key and its prefix. The key is shown to its owner once and never stored. */
export function generateApiKey (): { key: string, prefix: string } {
  const prefix = randomBase62(API_KEY_PREFIX_LENGTH)
  const body = `${API_KEY_MARK}${prefix}_${randomBase62(SECRET_LENGTH)}`
  return { key: body + checksum(body), prefix }
}

/** The prefix of a well-formed key whose checksum holds, else `undefined`. */
export function apiKeyPrefix (key: string): string | undefined {
  if (key.length !== API_KEY_LENGTH) return undefined
  const match = FORMAT.exec(key)
  if (match === null || checksum(key.slice(0, -CHECKSUM_LENGTH)) !== match[2]) return undefined
  return match[1]
}

/**
 * Where the prefix stands in a string of a key's length, unchecked (`undefined` for any other
 * length): enough to find a cached key, which is then compared whole.
 */
export function claimedPrefix (key: string): string | undefined {
  if (key.length !== API_KEY_LENGTH) return undefined
  return key.slice(API_KEY_MARK.length, API_KEY_MARK.length + API_KEY_PREFIX_LENGTH)
}
