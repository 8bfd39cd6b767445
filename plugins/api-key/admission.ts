import type { FastifyRequest } from 'fastify'
import { afterCallback } from '../core/callback-results.js'
import { currentUser } from '../core/current-user.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal } from '../core/types.js'
import type { ApiKeyOptions, ApiKeyRecord } from './options.js'

type Refuse = (request: FastifyRequest, reason: 'expired' | 'user', names: Record<string, string>) => AuthOutcome

/** The principal of a record, made once per record object (static keys and cached records repeat). */
function principals (scheme: string): (record: ApiKeyRecord) => AuthPrincipal {
  const made = new WeakMap<ApiKeyRecord, AuthPrincipal>()
  return (record) => {
    let principal = made.get(record)
    // Stryker disable next-line ConditionalExpression: equivalent, a principal made again is the same, only slower
    if (principal === undefined) {
      principal = Object.freeze({
        scheme,
        subject: record.subject,
        scopes: record.scopes,
        apiKeyId: record.id,
        ...(record.user === undefined ? {} : { user: record.user })
      })
      // Stryker disable next-line all: equivalent, as above
      made.set(record, principal)
    }
    return principal
  }
}

/**
 * What a verified key must still pass, on every request (cached keys too): its expiry, then its
 * owner (the app's `resolveUser`). A use that passes is told to `onUse`.
 */
export function admission (
  scheme: string,
  { onUse, resolveUser }: Pick<ApiKeyOptions, 'onUse' | 'resolveUser'>,
  refused: Refuse
): (request: FastifyRequest, record: ApiKeyRecord, nowSec: number) => AuthOutcome | Promise<AuthOutcome> {
  const principalOf = principals(scheme)
  const owner =
    resolveUser === undefined
      ? undefined
      : currentUser('apiKey.resolveUser', resolveUser, (request, principal) => refused(request, 'user', { api_key: principal.apiKeyId as string }))
  const used = (request: FastifyRequest, record: ApiKeyRecord, outcome: AuthOutcome): AuthOutcome => {
    // The owner check answers a principal or a refusal, never null (no credential).
    if (outcome !== INVALID_CREDENTIALS && onUse !== undefined) {
      const recorded = afterCallback(onUse(record, request), () => {})
      // Not awaited, but never an unhandled rejection (which would end the process).
      if (recorded instanceof Promise) {
        recorded.catch((err: unknown) => {
          request.log.error({ err, callback: 'apiKey.onUse', api_key: record.id }, 'apiKey.onUse failed')
        })
      }
    }
    return outcome
  }
  return function admit (request, record, nowSec) {
    if (record.expiresAt != null && record.expiresAt <= nowSec) return refused(request, 'expired', { api_key: record.id })
    if (owner === undefined) return used(request, record, principalOf(record))
    const outcome = owner(request, principalOf(record), record)
    return outcome instanceof Promise ? outcome.then((o) => used(request, record, o)) : used(request, record, outcome)
  }
}
