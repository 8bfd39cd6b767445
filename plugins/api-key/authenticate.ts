import type { FastifyRequest } from 'fastify'
import { safeEqual } from '../core/compare.js'
import type { ExpiringCache } from '../core/expiring-cache.js'
import { credentialRefused } from '../core/events.js'
import { afterCallback } from '../core/callback-results.js'
import { INVALID_CREDENTIALS, type AuthOutcome } from '../core/types.js'
import { admission } from './admission.js'
import { apiKeyPrefix, claimedPrefix } from './format.js'
import { checkRecord } from './records.js'
import type { ApiKeyRecord } from './options.js'
import type { ApiKeySettings } from './settings.js'

/** A key verified once, remembered under its prefix. */
export interface VerifiedKey {
  readonly key: Buffer
  readonly record: ApiKeyRecord
}

type Reason = 'malformed' | 'unknown' | 'expired' | 'user'

/**
 * The scheme's `authenticate`: the key in the header, checked against its format, then found
 * (configured keys first, else `lookup`), compared as a digest in constant time and admitted.
 */
export function apiKeyAuthenticator (
  settings: ApiKeySettings,
  cache: ExpiringCache<VerifiedKey> | undefined
): (request: FastifyRequest) => AuthOutcome | Promise<AuthOutcome> {
  const { name, scopes, hasher, lookup, staticKeys, now } = settings
  const header = settings.header.toLowerCase()
  const cacheTtl = settings.cache?.ttl ?? 0
  const refused = (request: FastifyRequest, reason: Reason, key: Record<string, string> = {}): AuthOutcome =>
    credentialRefused(request, name, reason, key)
  const admit = admission(name, settings, refused)

  type Outcome = AuthOutcome | Promise<AuthOutcome>
  function check (request: FastifyRequest, key: string, prefix: string, found: ApiKeyRecord | null): Outcome {
    const record = found === null || staticKeys.has(prefix) ? found : checkRecord(request, found, scopes)
    if (record === undefined) return INVALID_CREDENTIALS
    if (!hasher.matches(key, record?.digest) || record === null) {
      return refused(request, 'unknown', { key_prefix: prefix })
    }
    const nowSec = now() / 1000
    if (cache !== undefined && (record.expiresAt == null || record.expiresAt > nowSec)) {
      const until = Math.min(nowSec + cacheTtl, record.expiresAt ?? Infinity)
      cache.set(prefix, { key: Buffer.from(key, 'latin1'), record }, until)
    }
    return admit(request, record, nowSec)
  }

  return function authenticate (request) {
    const key = request.headers[header]
    if (key === undefined) return null
    if (typeof key !== 'string') return refused(request, 'malformed')
    const claimed = cache === undefined ? undefined : claimedPrefix(key)
    if (cache !== undefined && claimed !== undefined) {
      // Keyed by the public prefix; the secret part is compared in constant time.
      const nowSec = now() / 1000
      const hit = cache.get(claimed, nowSec)
      if (hit !== undefined && safeEqual(hit.key, Buffer.from(key, 'latin1'))) return admit(request, hit.record, nowSec)
    }
    const prefix = apiKeyPrefix(key)
    if (prefix === undefined) return refused(request, 'malformed')
    const known = staticKeys.get(prefix)
    if (known !== undefined || lookup === undefined) return check(request, key, prefix, known ?? null)
    return afterCallback(lookup(prefix, request), (record) => check(request, key, prefix, record))
  }
}
