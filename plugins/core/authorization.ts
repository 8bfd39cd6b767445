import { CONTROL } from './challenge.js'

const TOKEN68 = /^[A-Za-z0-9+/]+={0,2}$/
const MAX_USERNAME = 256
const MAX_PASSWORD = 1024
const MAX_ENCODED = 4096
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decode `Basic` credentials (RFC 7617): UTF-8, split at the first colon, no control characters,
 * bounded. Either part may be empty (OAuth2 client credentials allow that). `undefined` if malformed.
 */
export function decodeBasic (encoded: string): { username: string, password: string } | undefined {
  if (encoded.length > MAX_ENCODED || encoded.length % 4 !== 0 || !TOKEN68.test(encoded)) return undefined
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  if (colon === -1 || CONTROL.test(decoded)) return undefined
  const username = decoded.slice(0, colon)
  const password = decoded.slice(colon + 1)
  if (username.length > MAX_USERNAME || password.length > MAX_PASSWORD) return undefined
  return { username, password }
}

/**
 * The credentials of an `Authorization: <scheme> <credentials>` header (RFC 9110 §11.6.2; the
 * scheme name, lower case here, is matched case-insensitively), or `undefined` when the header
 * is absent or names another scheme: that is another scheme's business.
 */
export function authorizationCredentials (authorization: string | undefined, scheme: 'basic' | 'bearer' | 'dpop'): string | undefined {
  const n = scheme.length
  if (authorization === undefined || authorization.length <= n || authorization.charCodeAt(n) !== 32) return undefined
  // Compared letter by letter (every request passes here): `| 0x20` lowers an ASCII letter, and
  // the scheme is lower-case letters, so nothing else can match.
  for (let i = 0; i < n; i++) {
    if ((authorization.charCodeAt(i) | 0x20) !== scheme.charCodeAt(i)) return undefined
  }
  return authorization.slice(n + 1)
}
