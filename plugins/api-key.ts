import { createHmac, createSecretKey } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from './errors.js'
import { assertHeaderSafe } from './core/challenge.js'
import { safeEqual } from './core/compare.js'
import { ExpiringCache } from './core/expiring-cache.js'
import { functionOption, integerOption, scopesOption, stringOption } from './core/options.js'
import { callbackFault, checkGrant, isEpochSeconds } from './core/callbacks.js'
import { credentialRefused } from './core/events.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal, type WardenUser } from './core/types.js'
import { API_KEY_LENGTH, apiKeyDigest, apiKeyPrefix, generateApiKey } from './api-key/format.js'

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
  lookup?: (prefix: string, request: FastifyRequest) => ApiKeyRecord | null | Promise<ApiKeyRecord | null>
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
  /** Told of every successful use, e.g. to record last use in batches. Must not throw. */
  onUse?: (record: ApiKeyRecord, request: FastifyRequest) => void
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

interface Verified {
  readonly key: Buffer
  readonly record: ApiKeyRecord
}

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeys
  }
}

const apiKeyPlugin: FastifyPluginAsync<ApiKeyOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const name = stringOption('name', opts.name, 'apiKey')
  const headerName = stringOption('header', opts.header, 'X-API-Key')
  if (!/^[A-Za-z0-9-]{1,64}$/.test(headerName) || headerName.toLowerCase() === 'authorization') {
    throw new errors.WARDEN_ERR_OPTION('header', 'must be a header name other than Authorization')
  }
  const header = headerName.toLowerCase()
  const realm = opts.realm ?? warden.realm
  assertHeaderSafe('realm', realm)
  if (typeof opts.secret !== 'string' && !Buffer.isBuffer(opts.secret)) throw new errors.WARDEN_ERR_OPTION('secret', 'must be a string or Buffer of at least 32 bytes')
  if (Buffer.byteLength(opts.secret) < 32) throw new errors.WARDEN_ERR_OPTION('secret', 'must be at least 32 bytes')
  const hmacKey = createSecretKey(Buffer.from(opts.secret))
  const lookup = functionOption<NonNullable<ApiKeyOptions['lookup']>>('lookup', opts.lookup)
  const onUse = functionOption<NonNullable<ApiKeyOptions['onUse']>>('onUse', opts.onUse)
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const scopes = scopesOption('scopes', opts.scopes, warden.scopes)
  const cacheTtl = opts.cache ? integerOption('cache.ttl', opts.cache.ttl, 30, 1, 3600) : 0
  const cache = opts.cache ? new ExpiringCache<Verified>(integerOption('cache.max', opts.cache.max, 10_000, 1, 10_000_000)) : undefined

  const staticKeys = new Map<string, ApiKeyRecord>()
  for (const [i, k] of (opts.keys ?? []).entries()) {
    const prefix = typeof k?.key === 'string' ? apiKeyPrefix(k.key) : undefined
    if (prefix === undefined) throw new errors.WARDEN_ERR_OPTION(`keys[${i}].key`, 'is not a well-formed key (generate one with generateApiKey())')
    if (staticKeys.has(prefix)) throw new errors.WARDEN_ERR_OPTION(`keys[${i}].key`, 'has the prefix of another key')
    const granted = scopesOption(`keys[${i}].scopes`, k.scopes, warden.scopes)
    staticKeys.set(prefix, Object.freeze({
      id: stringOption(`keys[${i}].id`, k.id),
      subject: stringOption(`keys[${i}].subject`, k.subject),
      scopes: Object.freeze([...granted]),
      digest: apiKeyDigest(hmacKey, k.key),
      expiresAt: null
    }))
  }
  if (lookup === undefined && staticKeys.size === 0) throw new errors.WARDEN_ERR_OPTION('lookup', "or 'keys' must be given")

  const principals = new WeakMap<ApiKeyRecord, AuthPrincipal>()
  function principalOf (record: ApiKeyRecord): AuthPrincipal {
    let principal = principals.get(record)
    if (principal === undefined) {
      principal = Object.freeze({
        scheme: name,
        subject: record.subject,
        scopes: record.scopes,
        apiKeyId: record.id,
        ...(record.user === undefined ? {} : { user: record.user })
      })
      principals.set(record, principal)
    }
    return principal
  }

  const refused = (request: FastifyRequest, reason: 'malformed' | 'unknown' | 'expired', key: Record<string, string> = {}): AuthOutcome =>
    credentialRefused(request, name, reason, key)

  function admit (request: FastifyRequest, record: ApiKeyRecord, nowSec: number): AuthOutcome {
    if (record.expiresAt != null && record.expiresAt <= nowSec) return refused(request, 'expired', { api_key: record.id })
    onUse?.(record, request)
    return principalOf(record)
  }

  /** The field of a looked-up record at fault, or undefined when its shape is right. */
  function recordFault (record: Partial<ApiKeyRecord>): { fault: string, expected: string } | undefined {
    if (typeof record.id !== 'string' || record.id.length === 0) return { fault: 'id', expected: 'must be a non-empty string' }
    if (typeof record.digest !== 'string') return { fault: 'digest', expected: 'must be the base64url digest from apiKeys.issue()' }
    if (record.expiresAt != null && !isEpochSeconds(record.expiresAt)) return { fault: 'expiresAt', expected: 'must be seconds since the epoch, or null' }
    return undefined
  }

  /**
   * What the app's lookup returned, checked: a wrong shape fails closed (logged, naming the
   * field), and only scopes the scheme declares are kept.
   */
  function checkRecord (request: FastifyRequest, found: unknown): ApiKeyRecord | null | undefined {
    if (found === null) return null
    const grant = checkGrant(found, scopes)
    const fault = grant !== null && 'fault' in grant ? grant : recordFault(found as Partial<ApiKeyRecord>)
    if (fault !== undefined) {
      callbackFault(request, 'apiKey.lookup', fault.fault, fault.expected)
      return undefined
    }
    return Object.freeze({ ...found as ApiKeyRecord, scopes: (grant as { scopes: readonly string[] }).scopes })
  }

  function check (request: FastifyRequest, key: string, prefix: string, found: ApiKeyRecord | null): AuthOutcome {
    const record = found === null || staticKeys.has(prefix) ? found : checkRecord(request, found)
    if (record === undefined) return INVALID_CREDENTIALS
    // Compared even when nothing was found, so a miss costs what a wrong key costs.
    const expected = record === null ? undefined : Buffer.from(record.digest, 'base64url')
    const actual = createHmac('sha256', hmacKey).update(key).digest()
    if (expected === undefined || !safeEqual(expected, actual)) return refused(request, 'unknown', { key_prefix: prefix })
    const nowSec = now() / 1000
    const outcome = admit(request, record!, nowSec)
    if (cache !== undefined && outcome !== INVALID_CREDENTIALS) {
      cache.set(prefix, { key: Buffer.from(key, 'latin1'), record: record! }, Math.min(nowSec + cacheTtl, record!.expiresAt ?? Infinity))
    }
    return outcome
  }

  function authenticate (request: FastifyRequest): AuthOutcome | Promise<AuthOutcome> {
    const key = request.headers[header]
    if (key === undefined) return null
    if (typeof key !== 'string') return refused(request, 'malformed')
    if (cache !== undefined && key.length === API_KEY_LENGTH) {
      // Keyed by the public prefix; the secret part is compared in constant time.
      const nowSec = now() / 1000
      const hit = cache.get(key.slice(4, 12), nowSec)
      if (hit !== undefined && safeEqual(hit.key, Buffer.from(key, 'latin1'))) return admit(request, hit.record, nowSec)
    }
    const prefix = apiKeyPrefix(key)
    if (prefix === undefined) return refused(request, 'malformed')
    const known = staticKeys.get(prefix)
    if (known !== undefined || lookup === undefined) return check(request, key, prefix, known ?? null)
    const found = lookup(prefix, request)
    return found instanceof Promise ? found.then((r) => check(request, key, prefix, r)) : check(request, key, prefix, found)
  }

  fastify.decorate('apiKeys', {
    issue () {
      const { key, prefix } = generateApiKey()
      return { key, prefix, digest: apiKeyDigest(hmacKey, key) }
    },
    digest: (key: string) => apiKeyDigest(hmacKey, key),
    forget: (prefix: string) => cache?.delete(prefix)
  } satisfies ApiKeys)

  warden.addScheme({
    name,
    scopes,
    openapi: {
      type: 'apiKey',
      in: 'header',
      name: headerName,
      description: opts.description ?? `API key in the \`${headerName}\` header (\`wdn_…\`); scopes are set per key.`
    },
    challenge: warden.challenge('ApiKey', [['realm', realm], ['header', headerName]], true),
    authenticate
  })
}

/** API-key scheme: keys in a header, stored as HMAC digests, with per-key scopes and expiry. */
export const apiKey = fp(apiKeyPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/api-key',
  dependencies: ['fastify-warden']
})
export default apiKey
