import type { ApiKeyStore, ApiKeyUse } from './api-keys.js'

/**
 * Counts API-key uses in memory and writes them in one statement per interval, so a request
 * authenticated by a key never waits for a write. `flush()` writes now (also on close).
 */
export class ApiKeyUsage {
  #pending = new Map<string, ApiKeyUse>()
  readonly #timer: NodeJS.Timeout
  #flushing: Promise<void> = Promise.resolve()

  constructor (private readonly store: ApiKeyStore, interval = 5_000, private readonly onError: (err: Error) => void = () => {}) {
    this.#timer = setInterval(() => { this.flush().catch(onError) }, interval)
    this.#timer.unref()
  }

  record (id: string, at = new Date()): void {
    this.#merge({ id, count: 1, lastUsedAt: at })
  }

  #merge (use: ApiKeyUse): void {
    const pending = this.#pending.get(use.id)
    if (pending === undefined) this.#pending.set(use.id, { ...use })
    else {
      pending.count += use.count
      if (use.lastUsedAt > pending.lastUsedAt) pending.lastUsedAt = use.lastUsedAt
    }
  }

  async flush (): Promise<void> {
    const batch = [...this.#pending.values()]
    this.#pending = new Map()
    // Writes happen one after another, so counts are never added out of order.
    this.#flushing = this.#flushing.then(async () => await this.store.recordUses(batch)).catch((err) => {
      // Kept for the next flush rather than lost.
      for (const use of batch) this.#merge(use)
      this.onError(err as Error)
    })
    await this.#flushing
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }
}
