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
 * error goes on each, so a client reads it whichever token it sent, and `scope` (the route's, on
 * the scheme's own refusals). Built once per route.
 */
export function bearerChallenges (
  build: typeof challengeBuilder,
  params: ReadonlyArray<readonly [string, string]>,
  mode: DpopMode,
  algorithms: readonly string[],
  routeScope?: string
): BearerChallenges {
  const offered = mode === 'required' ? ['DPoP'] : mode === 'allowed' ? ['Bearer', 'DPoP'] : ['Bearer']
  const algs: ReadonlyArray<readonly [string, string]> = [['algs', algorithms.join(' ')]]
  const challenges = (extra: ReadonlyArray<readonly [string, string]>, scope: string | undefined): string => {
    const own = scope ? [...extra, ['scope', scope] as const] : extra
    return offered.map((scheme) => build(scheme, [...params, ...(scheme === 'DPoP' ? algs : []), ...own], false)('missing')).join(', ')
  }
  const error: Record<ChallengeKind, ReadonlyArray<readonly [string, string]>> = {
    missing: [],
    invalid: [['error', 'invalid_token']],
    insufficient_scope: [['error', 'insufficient_scope']]
  }
  return {
    challenge: (kind, scope) => challenges(error[kind], scope),
    // The scheme's own 401s (step-up, a proof at fault) name the route's scopes too: a client that
    // logs in again asks for those.
    refusal: (extra) => challenges(extra, routeScope)
  }
}
