interface Entry<V> {
  readonly value: V
  /** Seconds since the epoch from which the entry is no longer valid. */
  readonly until: number
}

/**
 * A bounded map whose entries expire: the verified-credential caches of the schemes. A hit skips
 * the expensive check (signature, HMAC); it never extends a credential's own lifetime.
 * When full, the oldest entry goes first.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, Entry<V>>()
  constructor (readonly max: number) {}

  get (key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (now >= entry.until) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set (key: string, value: V, until: number): void {
    if (this.#entries.size >= this.max && !this.#entries.has(key)) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
    this.#entries.set(key, { value, until })
  }

  delete (key: string): void {
    this.#entries.delete(key)
  }

  get size (): number {
    return this.#entries.size
  }
}
