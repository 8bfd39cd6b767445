import type { challengeBuilder } from '../core/challenge.js'
import type { ChallengeKind, DpopMode } from '../core/types.js'

/** The challenges of a token scheme as one route uses it: `Bearer`, `DPoP` (RFC 9449 §7.1), or both. */
export interface BearerChallenges {
  /** The challenge for the core's replies (missing, invalid_token, insufficient_scope), with the route's `scope` when it asks for some. */
  challenge(kind: ChallengeKind, scope?: string): string
  /** The challenge of a reply of the scheme's own (step-up, a DPoP proof at fault): `error` and the rest on each scheme offered. */
  refusal(params: ReadonlyArray<readonly [string, string]>): string
}

/**
 * One challenge per scheme the route takes, comma-separated in one header (RFC 9110 §11.6.1): the
 * scheme's parameters (realm, resource_metadata), `algs` on `DPoP`, then the reply's own; an
 * error goes on each, so a client reads it whichever token it sent. Built once per route.
 */
export function bearerChallenges (
  build: typeof challengeBuilder,
  params: ReadonlyArray<readonly [string, string]>,
  mode: DpopMode,
  algorithms: readonly string[]
): BearerChallenges {
  const offered = mode === 'required' ? ['DPoP'] : mode === 'allowed' ? ['Bearer', 'DPoP'] : ['Bearer']
  const algs: ReadonlyArray<readonly [string, string]> = [['algs', algorithms.join(' ')]]
  const refusal = (extra: ReadonlyArray<readonly [string, string]>): string =>
    offered.map((scheme) => build(scheme, [...params, ...(scheme === 'DPoP' ? algs : []), ...extra], false)('missing')).join(', ')
  const error: Record<ChallengeKind, ReadonlyArray<readonly [string, string]>> = {
    missing: [],
    invalid: [['error', 'invalid_token']],
    insufficient_scope: [['error', 'insufficient_scope']]
  }
  return {
    challenge: (kind, scope) => refusal([...error[kind], ...(scope ? [['scope', scope] as const] : [])]),
    refusal
  }
}
