import type { AuthPrincipal } from '../core/types.js'

interface Entry {
  readonly principal: AuthPrincipal
  /** Seconds since the epoch after which the entry is no longer valid (exp + tolerance). */
  readonly until: number
}

/**
 * Verified tokens, keyed by the exact token string: a hit skips the signature check and claim
 * parsing, never the expiry or revocation checks. Bounded; the oldest entry goes first.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>()
  constructor (readonly max: number) {}

  get (token: string, now: number): AuthPrincipal | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.until) {
      this.#entries.delete(token)
      return undefined
    }
    return entry.principal
  }

  set (token: string, principal: AuthPrincipal, until: number): void {
    if (this.#entries.size >= this.max) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
    this.#entries.set(token, { principal, until })
  }

  get size (): number {
    return this.#entries.size
  }

  clear (): void {
    this.#entries.clear()
  }
}
