import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { loadStoreTelemetry, recordRevocationLag } from './telemetry.js'
import type { Revocation, RevocationKind, RevocationStore } from './sql/revocations.js'
import { RevocationChannel, type Announcement, type DependencyState, type RedisClient } from './redis/revocations.js'

export type { RedisClient, DependencyState }

export interface RevocationListOptions {
  store: RevocationStore
  /**
   * With Redis, every instance hears of a revocation at once (pub/sub) and revoked ids are cached
   * there. A client the app made (`Redis`, Sentinel-backed or not, or `Cluster`): the list
   * subscribes on a duplicate of it, which it closes; the client itself stays the app's.
   */
  redis?: RedisClient
  /** Prefix of the Redis channel and key, for several apps on one Redis. Default `fastify-warden`. */
  namespace?: string
  /** How often to reread what changed in the store and forget what expired (ms). Default 30 s. */
  pollInterval?: number
  /** Told when another instance revokes an API key (its prefix), to drop it from caches. */
  onApiKeyRevoked?: (prefix: string) => void
  /**
   * Told of Redis and the store going down and coming back: give each an `Availability`
   * (`fastify-warden`'s core) for one log line per change. Without, the start of each outage goes
   * to `onError`, once.
   */
  availability?: { redis?: DependencyState, store?: DependencyState }
  /** Faults: a malformed message on the channel; and outages, once each, without `availability`. */
  onError?: (err: Error) => void
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

/**
 * Rows read per query: the loop runs between pages, and a page is a short pause (PGlite's query
 * runs in this thread: some 3 ms for 250 rows, where 100 000 at once paused it for seconds).
 */
const PAGE = 250
/** Entries checked for expiry between two turns of the event loop (some 1 ms). */
const SWEEP_SLICE = 10_000

/** Without an `Availability`, an outage is told once to `onError`, not once per failed call. */
function onceADown (onError: (err: Error) => void): DependencyState {
  let down = false
  return {
    failed (err) { if (!down) onError(err); down = true },
    succeeded () { down = false }
  }
}

/**
 * The revoked token ids every request is checked against: held in memory (the check is two map
 * lookups), persisted in the store, and shared between instances through Redis when configured.
 * Memory holds what is in force only: expired ids leave on every poll. A poll rereads only what
 * was added since the previous one, in pages.
 */
export class RevocationList {
  readonly #revoked: Record<RevocationKind, Map<string, number>> = { jti: new Map(), sid: new Map() }
  readonly #options: RevocationListOptions
  readonly #apiKeyListeners: Array<(prefix: string) => void> = []
  readonly #listeners: Array<(revocations: readonly Revocation[]) => void> = []
  readonly #now: () => number
  readonly #onError: (err: Error) => void
  readonly #storeState: DependencyState
  #channel: RevocationChannel | undefined
  #timer: NodeJS.Timeout | undefined
  /** Where the next reread of the store starts. */
  #from = ''
  #reading: Promise<void> = Promise.resolve()
  #queued: Promise<void> | undefined

  private constructor (options: RevocationListOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#onError = (err) => { options.onError?.(err) }
    this.#storeState = options.availability?.store ?? onceADown(this.#onError)
    if (options.onApiKeyRevoked !== undefined) this.#apiKeyListeners.push(options.onApiKeyRevoked)
  }

  static async open (options: RevocationListOptions): Promise<RevocationList> {
    const list = new RevocationList(options)
    await loadStoreTelemetry()
    await list.#reread()
    if (options.redis !== undefined) {
      list.#channel = await RevocationChannel.open({
        redis: options.redis,
        namespace: options.namespace ?? 'fastify-warden',
        state: options.availability?.redis ?? onceADown(list.#onError),
        onError: list.#onError,
        heard: (announcements) => { list.#heard(announcements) },
        joined: async (cached) => { await list.#joined(cached) }
      })
    }
    list.#timer = setInterval(() => { list.#tick().catch(() => {}) }, options.pollInterval ?? 30_000)
    list.#timer.unref()
    return list
  }

  /** Whether a verified token has been revoked, by its id or its session. */
  isRevoked (claims: { jti?: unknown, sid?: unknown }): boolean {
    return this.#has('jti', claims.jti) || this.#has('sid', claims.sid)
  }

  /**
   * Revoke, persist and tell every instance. Resolves once the store holds it and it is in force
   * here; the other instances are told through Redis now, or when Redis is back (they reread the
   * store then), or by their next poll: an outage of Redis neither fails nor delays a revocation.
   */
  async revoke (all: readonly Revocation[]): Promise<void> {
    // What this instance holds already was persisted by whoever revoked it: a storm of reuses
    // of one refresh token writes its session's revocation once.
    const revocations = all.filter((r) => (this.#revoked[r.kind].get(r.id) ?? 0) < r.expiresAt)
    if (revocations.length === 0) return
    await this.#options.store.add(revocations)
    this.#learn(revocations)
    const at = Date.now()
    this.#channel?.announce(revocations.map((r) => ({ ...r, at })))
  }

  /**
   * Be told of every revocation this instance learns of, its own or another instance's (through
   * Redis or a reread of the store), once it is in force here: to end what a session holds open
   * (a WebSocket, a stream). Each is told once.
   */
  onRevoked (listener: (revocations: readonly Revocation[]) => void): void {
    this.#listeners.push(listener)
  }

  /** Be told when an API key is revoked (its prefix), here or on another instance, to drop it from caches. */
  onApiKeyRevoked (listener: (prefix: string) => void): void {
    this.#apiKeyListeners.push(listener)
  }

  /**
   * Tell this instance's listeners and every other instance that an API key is revoked (the store
   * already knows). Through Redis only: an instance whose subscriber was down when it was sent
   * drops the key from its caches when their entries expire.
   */
  async revokeApiKey (prefix: string): Promise<void> {
    for (const listener of this.#apiKeyListeners) listener(prefix)
    this.#channel?.announce([{ kind: 'apikey', id: prefix }])
  }

  /** Revocations in force held in memory. */
  get size (): number {
    return this.#revoked.jti.size + this.#revoked.sid.size
  }

  /** Announcements waiting for Redis (bounded by `MAX_PENDING`). */
  get pending (): number {
    return this.#channel?.pending ?? 0
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    this.#channel?.close()
    await this.#reading.catch(() => {})
  }

  #has (kind: RevocationKind, id: unknown): boolean {
    if (typeof id !== 'string') return false
    const until = this.#revoked[kind].get(id)
    if (until === undefined) return false
    if (until * 1000 > this.#now()) return true
    this.#revoked[kind].delete(id)
    return false
  }

  /** Hold what is new here (or later than what is held), and tell the listeners of it. */
  #learn<R extends Revocation>(revocations: readonly R[]): R[] {
    const fresh = revocations.filter((r) => {
      const map = this.#revoked[r.kind]
      if ((map.get(r.id) ?? 0) >= r.expiresAt || r.expiresAt * 1000 <= this.#now()) return false
      map.set(r.id, r.expiresAt)
      return true
    })
    if (fresh.length > 0) for (const listener of this.#listeners) listener(fresh)
    return fresh
  }

  #heard (announcements: readonly Announcement[]): void {
    const revoked: Array<Revocation & { at?: number }> = []
    for (const a of announcements) {
      if (a.kind === 'apikey') for (const listener of this.#apiKeyListeners) listener(a.id)
      else revoked.push(a)
    }
    // Its own echo is not fresh here: only what another instance revoked is a propagation.
    const now = Date.now()
    for (const r of this.#learn(revoked)) if (typeof r.at === 'number') recordRevocationLag(now - r.at)
  }

  /**
   * Read what was added to the store since the last read. Reads run one at a time, and a request
   * made during one is a read of its own after it (it may have been asked for by a revocation the
   * running read started too early to see); requests waiting together share one.
   */
  #reread (): Promise<void> {
    this.#queued ??= this.#reading.catch(() => {}).then(async () => {
      this.#queued = undefined
      await this.#read()
    })
    this.#reading = this.#queued
    return this.#queued
  }

  async #read (): Promise<void> {
    const store = this.#options.store
    try {
      const mark = await store.mark()
      let from = this.#from
      for (;;) {
        const page = await store.changes(from, PAGE)
        this.#learn(page.revocations)
        from = page.next
        if (page.revocations.length < PAGE) break
        await yieldToEventLoop()
      }
      this.#from = mark
      this.#storeState.succeeded()
    } catch (err) {
      this.#storeState.failed(err as Error)
      throw err
    }
  }

  async #joined (cached?: AsyncGenerator<Revocation[]>): Promise<void> {
    // A new instance takes what Redis caches too (revocations of a store it does not share).
    if (cached !== undefined) {
      for await (const page of cached) {
        this.#learn(page)
        await yieldToEventLoop()
      }
    }
    // Revocations announced while this subscriber was away are in the store (whose failure is
    // its own, told by the read, not Redis's).
    await this.#reread().catch(() => {})
  }

  async #tick (): Promise<void> {
    await this.#sweep()
    await this.#channel?.tick(Math.floor(this.#now() / 1000))
    await this.#reread()
  }

  /** Forget what expired: the store's purge, in memory, a slice at a time (a Map's iterator survives deletions and pauses). */
  async #sweep (): Promise<void> {
    const now = this.#now()
    for (const map of Object.values(this.#revoked)) {
      let seen = 0
      for (const [id, until] of map) {
        if (until * 1000 <= now) map.delete(id)
        if (++seen % SWEEP_SLICE === 0) await yieldToEventLoop()
      }
    }
  }
}
