import type { FastifyReply } from 'fastify'
import { PROBLEM_CONTENT_TYPE, frozenProblem } from './problem.js'
import type { CredentialRefusal, SecurityScheme } from './types.js'

/** A route's requirement as its refusals need it: its schemes, and its alternatives (scheme index → scopes). */
export interface RouteSchemes {
  readonly schemes: readonly SecurityScheme[]
  readonly alternatives: ReadonlyArray<ReadonlyArray<{ readonly scheme: number; readonly scopes: readonly string[] }>>
}

/** A refusal, built once per route at start-up and sent as is. */
export class Denial {
  constructor (
    readonly status: 401 | 403,
    readonly challenges: string[],
    readonly body: string,
    /** For metrics and spans: the scheme at fault ('none' when nothing was presented) and why. */
    readonly scheme: string,
    readonly outcome: 'missing' | 'invalid' | 'insufficient_scope',
    /** Headers of the reply beside the challenges (a scheme's `CredentialRefusal`). */
    readonly headers?: Readonly<Record<string, string>>
  ) {}
}

export const MISSING_BODY = frozenProblem(401, 'Authentication is required to access this resource.')
export const INVALID_BODY = frozenProblem(401, 'The credentials presented are invalid or have expired.')
export const SCOPE_BODY = frozenProblem(403, 'The credentials presented do not grant access to this resource.')

/** Send a refusal: its status, its challenges (one `WWW-Authenticate` header each), its headers, its problem. */
export function sendDenial (reply: FastifyReply, denial: Denial): void {
  if (denial.headers !== undefined) reply.headers(denial.headers)
  reply
    .code(denial.status)
    .header('www-authenticate', denial.challenges.length === 1 ? denial.challenges[0] : denial.challenges)
    .type(PROBLEM_CONTENT_TYPE)
    .send(denial.body)
}

/** The replies of a refused request, built once per route. */
export interface Denials {
  missing: Denial
  invalid: Denial[]
  insufficient: Denial[]
}

/**
 * The scopes a 401 names for each scheme (RFC 6750 §3 `scope`; the Model Context Protocol's
 * clients ask for these, not for every scope the metadata lists): those of the first alternative
 * that names the scheme, the route's first way in for it.
 */
function firstWays ({ schemes, alternatives }: RouteSchemes): Array<readonly string[]> {
  return schemes.map((_, i) => alternatives.flat().find((t) => t.scheme === i)?.scopes ?? [])
}

/** A challenge's `scope`: the scopes, each once, space-separated; none for none. */
export const scopeParam = (scopes: readonly string[]): string | undefined => (scopes.length === 0 ? undefined : [...new Set(scopes)].join(' '))

/** The 401 of a caller who presented nothing: each scheme's challenge with its first way in's scopes, and `extra` (a scope demand's). */
export function missingDenial (resolved: RouteSchemes, extra: readonly string[] = []): Denial {
  const ways = firstWays(resolved)
  return new Denial(401, resolved.schemes.map((s, i) => s.challenge('missing', scopeParam([...ways[i], ...extra]))), MISSING_BODY, 'none', 'missing')
}

export function denials (resolved: RouteSchemes): Denials {
  const { schemes, alternatives } = resolved
  const scopes = firstWays(resolved).map(scopeParam)
  return {
    missing: missingDenial(resolved),
    invalid: schemes.map(
      (scheme, i) =>
        new Denial(
          401,
          schemes.map((s, j) => s.challenge(i === j ? 'invalid' : 'missing', scopes[j])),
          INVALID_BODY,
          scheme.name,
          'invalid'
        )
    ),
    insufficient: alternatives.map(
      (alt) =>
        new Denial(
          403,
          alt.filter((t) => t.scopes.length > 0).map((t) => schemes[t.scheme].challenge('insufficient_scope', t.scopes.join(' '))),
          SCOPE_BODY,
          alt.map((t) => schemes[t.scheme].name).join('+'),
          'insufficient_scope'
        )
    )
  }
}

/** The reply to a scheme's own refusal: its challenge for this request, the other schemes' usual ones. */
export function refusedBy (missing: Denial, schemes: readonly SecurityScheme[], i: number, refusal: CredentialRefusal): Denial {
  return new Denial(
    401,
    missing.challenges.map((challenge, j) => (i === j ? refusal.challenge : challenge)),
    frozenProblem(401, refusal.detail),
    schemes[i].name,
    'invalid',
    refusal.headers
  )
}
