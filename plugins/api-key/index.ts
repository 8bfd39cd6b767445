import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'
import { safeEqual } from '../core/compare.js'
import { ExpiringCache } from '../core/expiring-cache.js'
import { functionOption, integerOption, schemeOptions, stringOption } from '../core/option-checks.js'
import { credentialRefused } from '../core/events.js'
import { afterCallback } from '../core/callback-results.js'
import { admission } from './admission.js'
import { INVALID_CREDENTIALS, type AuthOutcome } from '../core/types.js'
import { API_KEY_LENGTH, apiKeyPrefix, generateApiKey } from './format.js'
import { ApiKeyHasher } from './digest.js'
import { checkRecord, staticKeyRecords } from './records.js'
import type { ApiKeyOptions, ApiKeyRecord, ApiKeys } from './options.js'

export type { ApiKeyOptions, ApiKeyRecord, ApiKeys, StaticApiKey } from './options.js'

interface Verified {
  readonly key: Buffer
  readonly record: ApiKeyRecord
}

function headerOption (value: unknown): string {
  const header = stringOption('header', value, 'X-API-Key')
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header) || header.toLowerCase() === 'authorization') {
    throw new errors.WARDEN_ERR_OPTION('header', 'must be a header name other than Authorization')
  }
  return header
}

const apiKeyPlugin: FastifyPluginAsync<ApiKeyOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const { name, realm, scopes } = schemeOptions(warden, opts, 'apiKey')
  const headerName = headerOption(opts.header)
  const header = headerName.toLowerCase()
  const hasher = new ApiKeyHasher('secret', opts.secret)
  const lookup = functionOption<NonNullable<ApiKeyOptions['lookup']>>('lookup', opts.lookup)
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const cacheTtl = opts.cache ? integerOption('cache.ttl', opts.cache.ttl, 30, 1, 3600) : 0
  const cache = opts.cache ? new ExpiringCache<Verified>(integerOption('cache.max', opts.cache.max, 10_000, 1, 10_000_000)) : undefined
  const staticKeys = staticKeyRecords(opts.keys, hasher, warden.scopes)
  if (lookup === undefined && staticKeys.size === 0) throw new errors.WARDEN_ERR_OPTION('lookup', "or 'keys' must be given")

  const refused = (request: FastifyRequest, reason: 'malformed' | 'unknown' | 'expired' | 'user', key: Record<string, string> = {}): AuthOutcome =>
    credentialRefused(request, name, reason, key)
  const admit = admission(name, {
    onUse: functionOption<NonNullable<ApiKeyOptions['onUse']>>('onUse', opts.onUse),
    resolveUser: functionOption<NonNullable<ApiKeyOptions['resolveUser']>>('resolveUser', opts.resolveUser)
  }, refused)

  function check (request: FastifyRequest, key: string, prefix: string, found: ApiKeyRecord | null): AuthOutcome | Promise<AuthOutcome> {
    const record = found === null || staticKeys.has(prefix) ? found : checkRecord(request, found, scopes)
    if (record === undefined) return INVALID_CREDENTIALS
    if (!hasher.matches(key, record?.digest) || record === null) return refused(request, 'unknown', { key_prefix: prefix })
    const nowSec = now() / 1000
    if (cache !== undefined && (record.expiresAt == null || record.expiresAt > nowSec)) {
      cache.set(prefix, { key: Buffer.from(key, 'latin1'), record }, Math.min(nowSec + cacheTtl, record.expiresAt ?? Infinity))
    }
    return admit(request, record, nowSec)
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
    return afterCallback(lookup(prefix, request), (record) => check(request, key, prefix, record))
  }

  fastify.decorate('apiKeys', {
    issue () {
      const { key, prefix } = generateApiKey()
      return { key, prefix, digest: hasher.digest(key) }
    },
    digest: (key: string) => hasher.digest(key),
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
