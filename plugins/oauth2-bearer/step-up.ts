import type { FastifyRequest } from 'fastify'
import { securityEvent } from '../core/events.js'
import { CredentialRefusal, type AuthOutcome, type RouteDemands } from '../core/types.js'
import type { BearerChallenges } from './challenges.js'
import type { IssuerPolicy } from './settings.js'

type StepUp = NonNullable<RouteDemands['stepUp']>

/**
 * RFC 9470 for one route: a token whose login is not of one of `acrValues`, or older than
 * `maxAge` seconds (`auth_time`), is refused with a challenge that says what would do, built
 * once here: `error="insufficient_user_authentication"` with the route's `acr_values` and
 * `max_age`, so the client can send its user to log in again and come back. The tokens of an
 * issuer whose logins do not count (`stepUp: false` of `issuers`) are refused likewise.
 */
export function stepUpCheck (
  stepUp: StepUp,
  scheme: string,
  challenges: BearerChallenges,
  now: () => number,
  issuers: readonly IssuerPolicy[] | undefined
): (request: FastifyRequest, outcome: AuthOutcome) => AuthOutcome {
  const { acrValues, maxAge } = stepUp
  // The issuers whose logins do not count for step-up (`stepUp: false`).
  const untrusted: ReadonlySet<string> = new Set(issuers?.filter((policy) => !policy.stepUp).map((policy) => policy.issuer))
  const demanded: Array<[string, string]> = [
    ...(acrValues === undefined ? [] : [['acr_values', acrValues.join(' ')] as [string, string]]),
    ...(maxAge === undefined ? [] : [['max_age', String(maxAge)] as [string, string]])
  ]
  const refusal = (description: string): CredentialRefusal =>
    new CredentialRefusal(
      challenges.refusal([['error', 'insufficient_user_authentication'], ['error_description', description], ...demanded]),
      description
    )
  const weak = refusal('A login with a stronger authentication method is required.')
  const old = refusal('A more recent login is required.')
  const elsewhere = refusal('A login at another identity provider is required.')
  const reasons = new Map([[weak, 'acr'], [old, 'max_age'], [elsewhere, 'issuer']])

  return (request, outcome) => {
    if (outcome === null || typeof outcome !== 'object' || outcome instanceof CredentialRefusal) return outcome
    const claims = outcome.claims
    let refused: CredentialRefusal | undefined
    // An issuer whose logins the app does not vouch for meets no step-up, whatever it claims.
    if (typeof claims?.iss === 'string' && untrusted.has(claims.iss)) refused = elsewhere
    else if (acrValues !== undefined && !(typeof claims?.acr === 'string' && acrValues.includes(claims.acr))) refused = weak
    else if (maxAge !== undefined) {
      const authTime = claims?.auth_time
      if (typeof authTime !== 'number' || !Number.isFinite(authTime) || now() / 1000 - authTime > maxAge) refused = old
    }
    if (refused === undefined) return outcome
    securityEvent(request, 'auth.step_up.required', {
      scheme,
      subject: outcome.subject,
      ...(typeof outcome.claims?.iss === 'string' ? { iss: outcome.claims.iss } : {}),
      reason: reasons.get(refused)
    })
    return refused
  }
}
