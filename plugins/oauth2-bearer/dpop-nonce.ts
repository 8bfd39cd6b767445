import { createHmac, randomBytes } from 'node:crypto'
import { safeEqual } from '../core/compare.js'
import { integerOption, secretFault } from '../core/option-checks.js'
import { errors } from '../errors.js'

/**
 * Server-provided DPoP nonces (RFC 9449 §8), kept nowhere: a nonce is its time window and an
 * HMAC of it, so every instance that shares the secret issues and accepts the same ones.
 */
export interface DpopNonces {
  /** The nonce of the current window, for a `DPoP-Nonce` header. */
  current(): string
  /** Whether a proof's `nonce` is the current window's or the previous one's. */
  check(nonce: string | undefined): boolean
}

export interface DpopNonceOptions {
  /** Shared by the instances that must accept each other's nonces; at least 32 bytes. Default: random, this process only. */
  secret?: string | Buffer
  /** Seconds of one window; a nonce is accepted in its window and the next, so for `lifetime` to twice that. Default 300. */
  lifetime?: number
  /** Milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

export const DEFAULT_NONCE_LIFETIME = 300
// A window number (decimal) and an HMAC-SHA256 in base64url: RFC 9449's NQCHAR holds both.
const MAX_NONCE_LENGTH = 64

interface Nonce {
  readonly text: string
  readonly bytes: Buffer
}

/** Stateless nonces; the options are checked here, named as `oauth2Bearer` takes them. */
export function dpopNonces (options: DpopNonceOptions = {}): DpopNonces {
  const lifetime = integerOption('dpop.nonce.lifetime', options.lifetime, DEFAULT_NONCE_LIFETIME, 1, 86_400) * 1000
  if (options.secret !== undefined) {
    const fault = secretFault(options.secret)
    if (fault !== undefined) throw new errors.WARDEN_ERR_OPTION('dpop.nonce.secret', fault)
  }
  // A copy: the caller's Buffer may be reused; the label keeps these HMACs apart from any other use of the secret.
  const secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret)
  const now = options.now ?? Date.now
  const nonceOf = (window: number): Nonce => {
    const text = `${window}.${createHmac('sha256', secret).update(`dpop-nonce ${window}`).digest('base64url')}`
    return { text, bytes: Buffer.from(text) }
  }

  // Computed once per window, for every response that carries one and every proof checked.
  let window = Number.NaN
  let current: Nonce = { text: '', bytes: Buffer.alloc(0) }
  let previous = current
  const refresh = (): void => {
    const w = Math.floor(now() / lifetime)
    if (w === window) return
    previous = w - 1 === window ? current : nonceOf(w - 1)
    current = nonceOf(w)
    window = w
  }
  return {
    current () {
      refresh()
      return current.text
    },
    check (nonce) {
      if (typeof nonce !== 'string' || nonce.length > MAX_NONCE_LENGTH) return false
      refresh()
      const given = Buffer.from(nonce)
      return safeEqual(given, current.bytes) || safeEqual(given, previous.bytes)
    }
  }
}
