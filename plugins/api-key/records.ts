import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { scopesOption, stringOption } from '../core/option-checks.js'
import { callbackFault, checkGrant, isEpochSeconds } from '../core/callback-results.js'
import { apiKeyPrefix } from './format.js'
import type { ApiKeyHasher } from './digest.js'
import type { ApiKeyRecord, StaticApiKey } from './options.js'

/** Keys from configuration, by prefix; only their digests are kept. */
export function staticKeyRecords (
  keys: StaticApiKey[] | undefined,
  hasher: ApiKeyHasher,
  catalog: Readonly<Record<string, string>>
): Map<string, ApiKeyRecord> {
  const records = new Map<string, ApiKeyRecord>()
  for (const [i, k] of (keys ?? []).entries()) {
    const prefix = typeof k?.key === 'string' ? apiKeyPrefix(k.key) : undefined
    if (prefix === undefined) throw new errors.WARDEN_ERR_OPTION(`keys[${i}].key`, 'is not a well-formed key (generate one with generateApiKey())')
    if (records.has(prefix)) throw new errors.WARDEN_ERR_OPTION(`keys[${i}].key`, 'has the prefix of another key')
    const granted = scopesOption(`keys[${i}].scopes`, k.scopes, catalog)
    records.set(
      prefix,
      Object.freeze({
        id: stringOption(`keys[${i}].id`, k.id),
        subject: stringOption(`keys[${i}].subject`, k.subject),
        scopes: Object.freeze([...granted]),
        digest: hasher.digest(k.key),
        expiresAt: null
      })
    )
  }
  return records
}

/** The field of a looked-up record at fault, or undefined when its shape is right. */
function recordFault (record: Partial<ApiKeyRecord>): { fault: string; expected: string } | undefined {
  if (typeof record.id !== 'string' || record.id.length === 0) return { fault: 'id', expected: 'must be a non-empty string' }
  if (typeof record.digest !== 'string') return { fault: 'digest', expected: 'must be the base64url digest from apiKeys.issue()' }
  if (record.expiresAt != null && !isEpochSeconds(record.expiresAt)) return { fault: 'expiresAt', expected: 'must be seconds since the epoch, or null' }
  return undefined
}

/**
 * What the app's lookup returned, checked: a wrong shape fails closed (`undefined`, logged
 * naming the field), and only scopes the scheme declares are kept.
 */
export function checkRecord (request: FastifyRequest, found: unknown, scopes: ReadonlySet<string>): ApiKeyRecord | null | undefined {
  if (found === null) return null
  const grant = checkGrant(found, scopes)
  const fault = grant !== null && 'fault' in grant ? grant : recordFault(found as Partial<ApiKeyRecord>)
  if (fault !== undefined) {
    callbackFault(request, 'apiKey.lookup', fault.fault, fault.expected)
    return undefined
  }
  return Object.freeze({ ...(found as ApiKeyRecord), scopes: (grant as { scopes: readonly string[] }).scopes })
}
