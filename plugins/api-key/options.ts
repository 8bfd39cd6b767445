import type { FastifyRequest } from 'fastify'
import type { WardenUser } from '../core/types.js'
import type { ResolveUser } from '../core/current-user.js'

/** A stored API key, as a lookup returns it. It never holds the key itself. */
export interface ApiKeyRecord {
  id: string
  /** HMAC-SHA256 of the key under the scheme's `secret`, base64url (see `fastify.apiKeys.issue()`). */
  digest: string
  /** The owner: the principal's `subject`. */
  subject: string
  scopes: readonly string[]
  /** Seconds since the epoch, or `null` for a key that does not expire. */
  expiresAt?: number | null
  user?: WardenUser
}

/** A key held in configuration (service keys); only its digest is kept after registration. */
export interface StaticApiKey {
  id: string
  key: string
  subject: string
  scopes: string[]
}

export interface ApiKeyOptions {
  /** Scheme name. Default `'apiKey'`. */
  name?: string
  /** Header that carries the key. Default `'X-API-Key'`. Keys are never read from the query string. */
  header?: string
  realm?: string
  description?: string
  /** Server-side HMAC key for stored digests, at least 32 bytes. */
  secret: string | Buffer
  /** Find a stored key by its prefix; return `null` for none (or a revoked one). */
  lookup?: (prefix: string, request: FastifyRequest) => ApiKeyRecord | null | PromiseLike<ApiKeyRecord | null>
  /** Keys from configuration (hashed at registration). */
  keys?: StaticApiKey[]
  /** Scopes this scheme grants; a subset of the core's catalog, all of it by default. */
  scopes?: string[]
  /**
   * Remember verified keys for `ttl` seconds (default 30), so a hit costs a constant-time
   * comparison instead of an HMAC and a lookup. A key revoked in the store is still accepted
   * until its entry expires, unless `fastify.apiKeys.forget(prefix)` is called. Default off.
   */
  cache?: false | { max?: number, ttl?: number }
  /**
   * The current owner of a verified key, set as `request.auth.user`: `null` refuses the key (the
   * account is gone or disabled). Called for every request, cached keys included, so a key dies
   * with its owner's account at once, whatever the cache holds.
   */
  resolveUser?: ResolveUser<ApiKeyRecord>
  /**
   * Told of every successful use, e.g. to record last use in batches. Not awaited: the request
   * goes on; a promise it returns that rejects is logged at `error`, and a throw is a 503.
   */
  onUse?: (record: ApiKeyRecord, request: FastifyRequest) => void | PromiseLike<void>
  /** Clock in ms since the epoch (tests). */
  now?: () => number
}

/** Decorated as `fastify.apiKeys`. */
export interface ApiKeys {
  /** A new key with the digest and prefix to store; show `key` to its owner once. */
  issue (): { key: string, prefix: string, digest: string }
  /** The digest of a key under this scheme's secret. */
  digest (key: string): string
  /** Drop a key from the verified-key cache (call it when the key is revoked). */
  forget (prefix: string): void
}

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeys
  }
}
