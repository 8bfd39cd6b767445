import type { Availability } from '../../plugins/core/availability.js'
import type { Revocation } from '../sql/revocations.js'

/**
 * A Redis client the app made: an ioredis `Redis` (Sentinel-backed ones too) or `Cluster` fits.
 * Described by what the list uses rather than imported from ioredis, an optional peer: the
 * published types must compile in an app that does not install it.
 */
export interface RedisClient {
  readonly status: string
  readonly isCluster: boolean
  /** A new connection with the same options (the subscriber). */
  duplicate(): RedisClient
  connect(): Promise<void>
  disconnect(): void
  on(event: 'ready', listener: () => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  /** A Cluster's nodes joining and leaving (a single node never emits them). */
  on(event: '+node' | '-node', listener: () => void): unknown
  once(event: 'error', listener: (err: Error) => void): unknown
  off(event: 'ready', listener: () => void): unknown
  subscribe(channel: string): Promise<unknown>
  publish(channel: string, message: string): Promise<unknown>
  zadd(key: string, gt: 'GT', ...scoreMembers: Array<string | number>): Promise<unknown>
  zscan(key: string, cursor: string, count: 'COUNT', n: number): Promise<[cursor: string, elements: string[]]>
  zremrangebyscore(key: string, min: string, max: number): Promise<unknown>
}

/** What is told of a dependency's state: an `Availability` logs one line per change, not one per failure. */
export type DependencyState = Pick<Availability, 'failed' | 'succeeded'>

/** What instances tell each other: a revoked token id or session, or a revoked API key's prefix. */
export type Announcement =
  (Revocation & { /** When it was revoked, ms since the epoch (the revoking instance's clock). */ at?: number }) | { kind: 'apikey'; id: string }

/**
 * Announcements waiting for Redis during an outage, at most: older ones are dropped. A dropped one
 * is not lost: every revocation is in the store first, and each instance rereads the store when
 * its subscriber is back (an API key's is the exception: see `RevocationList.revokeApiKey`).
 */
export const MAX_PENDING = 10_000
const BATCH = 1_000
/** ms after a Cluster's last change of nodes before its subscription is trusted again. */
const SETTLE = 1_000
/** Longest id (a jti, a sid, a key prefix) and longest message believed from the channel. */
const MAX_ID = 256
const MAX_MESSAGE = BATCH * (MAX_ID + 96)
/** No token of fastify-warden lives longer than a year (refresh tokens: REFRESH_TOKEN_EXPIRE_DAYS ≤ 365). */
const MAX_LIFETIME = 366 * 86_400

interface ChannelOptions {
  redis: RedisClient
  namespace: string
  state: DependencyState
  onError: (err: Error) => void
  /** Announcements heard from any instance, this one included. */
  heard: (announcements: Announcement[]) => void
  /** Subscribed (again): read what was announced while no one listened here; the first time, with what Redis caches. */
  joined: (cached?: AsyncGenerator<Revocation[]>) => Promise<void>
}

/** The client can take a command now (a lazy one connects on its first). */
const open = (client: RedisClient): boolean => client.status === 'ready' || client.status === 'wait'

/**
 * Revocations between instances through Redis: announced on one channel, cached in one sorted
 * set. The set (`{namespace}:revoked`, member `kind:id`, score the expiry in seconds) is one key,
 * so a Cluster keeps it on one node and nothing needs SCAN, which sees one node's keys only: a
 * new instance reads it with ZSCAN, expired members leave with ZREMRANGEBYSCORE, and ZADD GT
 * keeps the latest expiry. Classic PUBLISH reaches every node's subscribers in a Cluster, so
 * any node takes it. The hash tag keeps whatever key joins the set on its slot.
 *
 * Nothing waits for Redis: an announcement is queued (bounded) and sent while the client is
 * ready, so an outage costs the other instances only the time until their subscribers are back
 * and they reread the store.
 */
export class RevocationChannel {
  readonly #options: ChannelOptions
  readonly #subscriber: RedisClient
  readonly #key: string
  readonly #channel: string
  #pending: Announcement[] = []
  #flushing = false
  #joins = 0
  readonly #flushSoon = (): void => {
    void this.#flush()
  }

  #settling: NodeJS.Timeout | undefined
  readonly #settled = (): void => {
    clearTimeout(this.#settling)
    this.#settling = setTimeout(() => {
      void this.#join()
    }, SETTLE)
    this.#settling.unref()
  }

  private constructor (options: ChannelOptions) {
    this.#options = options
    this.#key = `{${options.namespace}}:revoked`
    this.#channel = `{${options.namespace}}:revocations`
    // A connection of its own (a subscribed one takes no other command); closed with the list.
    this.#subscriber = options.redis.duplicate()
  }

  /** Joined once, or Redis is unreachable: the list starts degraded, and joins when Redis is. */
  static async open (options: ChannelOptions): Promise<RevocationChannel> {
    const channel = new RevocationChannel(options)
    const subscriber = channel.#subscriber
    const first = new Promise<void>((resolve) => {
      subscriber.once('error', () => {
        resolve()
      })
      subscriber.on('ready', () => {
        channel.#join().then(resolve, resolve)
      })
    })
    subscriber.on('error', (err: Error) => {
      options.state.failed(err)
    })
    subscriber.on('message', (name: string, text: string) => {
      if (name === channel.#channel) channel.#message(text)
    })
    options.redis.on('ready', channel.#flushSoon)
    // A Cluster moves its subscription to another node when the one it used is lost, without a
    // 'ready' event: what was announced meanwhile is reread once its nodes have settled.
    subscriber.on('-node', channel.#settled)
    subscriber.on('+node', channel.#settled)
    if (subscriber.status === 'wait') {
      subscriber.connect().catch((err: Error) => {
        options.state.failed(err)
      })
    }
    await first
    return channel
  }

  /** Send to every instance (this one hears it too), now or once Redis is back. */
  announce (announcements: readonly Announcement[]): void {
    for (const a of announcements) this.#pending.push(a)
    const excess = this.#pending.length - MAX_PENDING
    if (excess > 0) this.#pending.splice(0, excess)
    void this.#flush()
  }

  /** The revocations cached in Redis, a page at a time. */
  async * #cached (): AsyncGenerator<Revocation[]> {
    let cursor = '0'
    do {
      const [next, flat] = await this.#options.redis.zscan(this.#key, cursor, 'COUNT', BATCH)
      cursor = next
      const page: Revocation[] = []
      for (let i = 0; i < flat.length; i += 2) {
        const at = flat[i].indexOf(':')
        const kind = flat[i].slice(0, at)
        if (kind === 'jti' || kind === 'sid') page.push({ kind, id: flat[i].slice(at + 1), expiresAt: Number(flat[i + 1]) })
      }
      yield page
    } while (cursor !== '0')
  }

  /** Forget in Redis what expired, and send what an outage left waiting. */
  async tick (nowSeconds: number): Promise<void> {
    if (!open(this.#options.redis)) return
    try {
      await this.#options.redis.zremrangebyscore(this.#key, '-inf', nowSeconds)
    } catch (err) {
      this.#options.state.failed(err as Error)
      return
    }
    await this.#flush()
  }

  get pending (): number {
    return this.#pending.length
  }

  close (): void {
    clearTimeout(this.#settling)
    this.#options.redis.off('ready', this.#flushSoon)
    this.#subscriber.disconnect()
    this.#pending = []
  }

  async #join (): Promise<void> {
    try {
      // Again after a reconnection, where ioredis resubscribes too: the reread must start only
      // once this connection hears announcements, or one sent in between would be missed twice.
      await this.#subscriber.subscribe(this.#channel)
      this.#options.state.succeeded()
      await this.#options.joined(this.#joins++ === 0 ? this.#cached() : undefined)
    } catch (err) {
      this.#options.state.failed(err as Error)
    }
    await this.#flush()
  }

  #message (text: string): void {
    try {
      // Whoever can publish on the channel must not fill memory: a message is at most one batch
      // of ids of bounded length, and an expiry beyond any token's lifetime is not believed.
      if (text.length > MAX_MESSAGE) throw new Error(`revocation message of ${text.length} characters ignored`)
      const latest = Date.now() / 1000 + MAX_LIFETIME
      const heard: Announcement[] = []
      for (const m of (JSON.parse(text) as Announcement[]).slice(0, BATCH)) {
        if (typeof m?.id !== 'string' || m.id.length === 0 || m.id.length > MAX_ID) continue
        if (m.kind === 'apikey' || ((m.kind === 'jti' || m.kind === 'sid') && Number.isSafeInteger(m.expiresAt) && m.expiresAt <= latest)) heard.push(m)
      }
      this.#options.heard(heard)
    } catch (err) {
      this.#options.onError(err as Error)
    }
  }

  async #flush (): Promise<void> {
    if (this.#flushing) return
    this.#flushing = true
    try {
      while (this.#pending.length > 0 && open(this.#options.redis)) {
        const batch = this.#pending.splice(0, BATCH)
        try {
          await this.#send(batch)
          this.#options.state.succeeded()
        } catch (err) {
          // Back in front, for the next ready event or tick; the bound still holds.
          this.#pending = batch.concat(this.#pending).slice(-MAX_PENDING)
          this.#options.state.failed(err as Error)
          return
        }
      }
    } finally {
      this.#flushing = false
    }
  }

  async #send (batch: readonly Announcement[]): Promise<void> {
    const members: Array<string | number> = []
    for (const a of batch) if (a.kind !== 'apikey') members.push(a.expiresAt, `${a.kind}:${a.id}`)
    // Cached before it is announced: an instance told of it and starting then finds it.
    if (members.length > 0) await this.#options.redis.zadd(this.#key, 'GT', ...members)
    await this.#options.redis.publish(this.#channel, JSON.stringify(batch))
  }
}
