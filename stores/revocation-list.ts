import type { Redis } from 'ioredis'
import type { Revocation, RevocationKind, RevocationStore } from './revocations.js'

export interface RevocationListOptions {
  store: RevocationStore
  /** With Redis, every instance hears of a revocation at once (pub/sub) and revoked ids are cached there. */
  redisUrl?: string
  /** Prefix of the Redis channel and keys, for several apps on one Redis. Default `fastify-warden`. */
  namespace?: string
  /** How often to reread the store, for instances without Redis or that missed a message (ms). Default 30 s. */
  pollInterval?: number
  /** Told when another instance revokes an API key (its prefix), to drop it from caches. */
  onApiKeyRevoked?: (prefix: string) => void
  onError?: (err: Error) => void
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

type Message = Revocation | { kind: 'apikey', id: string }

/**
 * The revoked token ids every request is checked against: held in memory (the check is two map
 * lookups), persisted in the store, and shared between instances through Redis when configured.
 */
export class RevocationList {
  readonly #revoked: Record<RevocationKind, Map<string, number>> = { jti: new Map(), sid: new Map() }
  readonly #options: RevocationListOptions
  readonly #apiKeyListeners: Array<(prefix: string) => void> = []
  readonly #listeners: Array<(revocations: readonly Revocation[]) => void> = []
  readonly #now: () => number
  #publisher: Redis | undefined
  #subscriber: Redis | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #channel: string
  readonly #key: string

  private constructor (options: RevocationListOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    if (options.onApiKeyRevoked !== undefined) this.#apiKeyListeners.push(options.onApiKeyRevoked)
    const namespace = options.namespace ?? 'fastify-warden'
    this.#channel = `${namespace}:revocations`
    this.#key = `${namespace}:revoked:`
  }

  static async open (options: RevocationListOptions): Promise<RevocationList> {
    const list = new RevocationList(options)
    await list.#reload()
    if (options.redisUrl !== undefined) await list.#connect(options.redisUrl)
    list.#timer = setInterval(() => { list.#reload().catch((err) => options.onError?.(err)) }, options.pollInterval ?? 30_000)
    list.#timer.unref()
    return list
  }

  /** Whether a verified token has been revoked, by its id or its session. */
  isRevoked (claims: { jti?: unknown, sid?: unknown }): boolean {
    return this.#has('jti', claims.jti) || this.#has('sid', claims.sid)
  }

  /** Revoke, persist and tell every instance. */
  async revoke (all: readonly Revocation[]): Promise<void> {
    // What this instance holds already was persisted by whoever revoked it: a storm of reuses
    // of one refresh token writes its session's revocation once.
    const revocations = all.filter((r) => (this.#revoked[r.kind].get(r.id) ?? 0) < r.expiresAt)
    if (revocations.length === 0) return
    await this.#options.store.add(revocations)
    this.#heard(revocations)
    if (this.#publisher !== undefined) {
      const multi = this.#publisher.multi()
      for (const r of revocations) multi.set(this.#key + r.kind + ':' + r.id, '1', 'EXAT', r.expiresAt)
      multi.publish(this.#channel, JSON.stringify(revocations))
      await multi.exec()
    }
  }

  /**
   * Be told of every revocation this instance learns of, its own or another instance's (through
   * Redis), once it is in force here: to end what a session holds open (a WebSocket, a stream).
   */
  onRevoked (listener: (revocations: readonly Revocation[]) => void): void {
    this.#listeners.push(listener)
  }

  /** Be told when an API key is revoked (its prefix), here or on another instance, to drop it from caches. */
  onApiKeyRevoked (listener: (prefix: string) => void): void {
    this.#apiKeyListeners.push(listener)
  }

  /** Tell this instance's listeners and every other instance that an API key is revoked (the store already knows). */
  async revokeApiKey (prefix: string): Promise<void> {
    for (const listener of this.#apiKeyListeners) listener(prefix)
    await this.#publisher?.publish(this.#channel, JSON.stringify([{ kind: 'apikey', id: prefix }]))
  }

  get size (): number {
    return this.#revoked.jti.size + this.#revoked.sid.size
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    this.#subscriber?.disconnect()
    if (this.#publisher !== undefined) await this.#publisher.quit().catch(() => {})
  }

  #has (kind: RevocationKind, id: unknown): boolean {
    if (typeof id !== 'string') return false
    const until = this.#revoked[kind].get(id)
    if (until === undefined) return false
    if (until * 1000 > this.#now()) return true
    this.#revoked[kind].delete(id)
    return false
  }

  #heard (revocations: readonly Revocation[]): void {
    for (const r of revocations) this.#remember(r)
    for (const listener of this.#listeners) listener(revocations)
  }

  #remember (r: Revocation): void {
    const map = this.#revoked[r.kind]
    if ((map.get(r.id) ?? 0) < r.expiresAt) map.set(r.id, r.expiresAt)
  }

  async #reload (): Promise<void> {
    for (const r of await this.#options.store.active()) this.#remember(r)
  }

  async #connect (url: string): Promise<void> {
    const onError = (err: Error): void => { this.#options.onError?.(err) }
    // ioredis is an optional peer dependency, loaded only when Redis is configured.
    const { Redis } = await import('ioredis')
    this.#publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 })
    this.#subscriber = new Redis(url, { lazyConnect: true })
    this.#publisher.on('error', onError)
    this.#subscriber.on('error', onError)
    await Promise.all([this.#publisher.connect(), this.#subscriber.connect()])
    this.#subscriber.on('message', (_channel: string, text: string) => {
      try {
        const revoked: Revocation[] = []
        for (const m of JSON.parse(text) as Message[]) {
          if (m.kind === 'apikey') for (const listener of this.#apiKeyListeners) listener(m.id)
          else if ((m.kind === 'jti' || m.kind === 'sid') && typeof m.id === 'string' && typeof m.expiresAt === 'number') revoked.push(m)
        }
        if (revoked.length > 0) this.#heard(revoked)
      } catch (err) {
        onError(err as Error)
      }
    })
    // After a reconnect, messages sent meanwhile are lost: read what Redis holds.
    this.#subscriber.on('ready', () => { this.#readRedis().catch(onError) })
    await this.#subscriber.subscribe(this.#channel)
    await this.#readRedis()
  }

  async #readRedis (): Promise<void> {
    const redis = this.#publisher!
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', this.#key + '*', 'COUNT', 500)
      cursor = next
      if (keys.length === 0) continue
      const expiries = await Promise.all(keys.map((k) => redis.expiretime(k)))
      keys.forEach((key, i) => {
        const [kind, ...id] = key.slice(this.#key.length).split(':')
        if ((kind === 'jti' || kind === 'sid') && expiries[i] > 0) this.#remember({ kind, id: id.join(':'), expiresAt: expiries[i] })
      })
    } while (cursor !== '0')
  }
}
