import type { FastifyRequest } from 'fastify'
import { authorizationCredentials } from '../core/authorization.js'
import { callbackFault } from '../core/callback-results.js'
import { credentialRefused } from '../core/events.js'
import { ExpiringCache } from '../core/expiring-cache.js'
import { noteToken } from '../core/auth-info.js'
import { dependencyAnswered } from '../core/guard.js'
import { CredentialRefusal, type AuthOutcome, type AuthPrincipal, type DpopMode, type WardenClaims } from '../core/types.js'
import { admission } from './admission.js'
import { InvalidDpopProof, InvalidToken, issuerDependency, type RefusalKind } from '../errors.js'
import { checkProof, nonceHeader, type DpopSettings } from './dpop.js'
import type { BearerChallenges } from './challenges.js'
import type { BearerSettings } from './settings.js'

type Outcome = AuthOutcome | Promise<AuthOutcome>

/**
 * The scopes a token grants, of those the scheme declares: `scope` (RFC 9068, a string; some
 * providers send a list), else `scp` (Entra ID, Okta: a string or a list), or `read(claims)`.
 */
function tokenScopes (claims: WardenClaims, declared: ReadonlySet<string>, read?: (claims: WardenClaims) => unknown): string[] {
  const raw = read !== undefined ? read(claims) : (claims.scope ?? claims.scp)
  const list: unknown[] = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : []
  return list.filter((s, i): s is string => typeof s === 'string' && declared.has(s) && list.indexOf(s) === i)
}

/**
 * The key a token is bound to (RFC 9449 §6.1 `cnf.jkt`); undefined for an unbound token; null
 * for a confirmation this scheme cannot check (a certificate's `x5t#S256`, RFC 8705; a `jwk`):
 * such a token is bound to something the caller must prove, so it is refused, never taken as Bearer.
 */
function boundKey (claims: Readonly<WardenClaims> | undefined): string | null | undefined {
  const cnf = claims?.cnf
  if (cnf === undefined) return undefined
  const jkt = (cnf as { jkt?: unknown } | null)?.jkt
  return typeof cnf === 'object' && typeof jkt === 'string' && Object.keys(cnf as object).length === 1 ? jkt : null
}

/**
 * The scopes of a verified token: read by the scheme's `claimScopes`, or with several issuers by
 * the mapping of the issuer that verified it (`iss`), else from `scope`/`scp`. A mapping that
 * does not answer a list is the app's fault, logged, and grants nothing.
 */
function scopeReader (settings: Pick<BearerSettings, 'scopes' | 'claimScopes' | 'several'>): (request: FastifyRequest, claims: WardenClaims) => string[] {
  const mappings = settings.several === undefined ? undefined : new Map(settings.several.map((p) => [p.issuer, p.claimScopes]))
  return (request, claims) => {
    const claimScopes = mappings === undefined ? settings.claimScopes : mappings.get(claims.iss as string)
    const read =
      claimScopes === undefined
        ? undefined
        : (c: WardenClaims): unknown => {
            const found = claimScopes(c)
            if (!Array.isArray(found)) callbackFault(request, 'claimScopes', '(result)', 'must be an array of scope names')
            return found
          }
    return tokenScopes(claims, settings.scopes, read)
  }
}

type Refused = (request: FastifyRequest, kind: RefusalKind, detail: string, claims?: WardenClaims) => AuthOutcome

/**
 * A verified token's binding against how it was sent (RFC 9449 §7): a bound token needs the DPoP
 * scheme and a fresh proof of its key for this request; an unbound one, Bearer. Then admitted.
 */
function binding (
  dpop: DpopSettings | undefined,
  challenges: BearerChallenges,
  refused: Refused,
  admit: (request: FastifyRequest, principal: AuthPrincipal) => Outcome
): (request: FastifyRequest, token: string, principal: AuthPrincipal, proved: boolean) => Outcome {
  /** A proof at fault: its own challenge (`invalid_dpop_proof`, `use_dpop_nonce` with the nonce), logged like any refusal. */
  function badProof (request: FastifyRequest, err: unknown, claims?: Readonly<WardenClaims>): AuthOutcome {
    if (!(err instanceof InvalidDpopProof)) throw err
    // A nonce to use is the protocol's second step (RFC 9449 §9), not a refusal worth an event.
    if (err.error !== 'use_dpop_nonce') refused(request, 'dpop', err.reason, claims)
    const { error, description } = err
    return new CredentialRefusal(challenges.refusal([['error', error], ['error_description', description]]), description, nonceHeader(dpop!, err))
  }

  return (request, token, principal, proved) => {
    const jkt = boundKey(principal.claims)
    if (jkt === null) return refused(request, 'dpop', 'a confirmation (cnf) this scheme cannot check', principal.claims)
    if (!proved) return jkt === undefined ? admit(request, principal) : refused(request, 'dpop', 'a DPoP-bound token sent as Bearer', principal.claims)
    if (jkt === undefined) return refused(request, 'dpop', 'an unbound token sent with DPoP', principal.claims)
    try {
      const used = checkProof(dpop!, request, token, jkt)
      return used instanceof Promise
        ? used.then(
          () => admit(request, principal),
          (err) => badProof(request, err, principal.claims)
        )
        : admit(request, principal)
    } catch (err) {
      return badProof(request, err, principal.claims)
    }
  }
}

/**
 * The scheme's `authenticate` for each DPoP mode: the token of a request (`Bearer`, or `DPoP`
 * with its proof), verified (or cached), its binding checked, and admitted. One cache for all.
 */
export function bearerAuthenticator (
  settings: BearerSettings,
  verifyToken: (token: string) => WardenClaims | Promise<WardenClaims>
): (mode: DpopMode, challenges: BearerChallenges) => (request: FastifyRequest) => Outcome {
  const { name, clockTolerance, now, dpop } = settings
  const cache = settings.cacheMax === undefined ? undefined : new ExpiringCache<AuthPrincipal>(settings.cacheMax)

  // The first refusal of each kind is a warning: a misconfigured issuer or audience shows at once.
  const seenKinds = new Set<RefusalKind>()
  // With several issuers a `sub` is one issuer's: the (verified) issuer names whose it is.
  const several = settings.several !== undefined
  function refused (request: FastifyRequest, kind: RefusalKind, detail: string, claims?: WardenClaims): AuthOutcome {
    const names = claims === undefined ? {} : several ? { jti: claims.jti, sub: claims.sub, iss: claims.iss } : { jti: claims.jti, sub: claims.sub }
    const outcome: AuthOutcome = credentialRefused(request, name, kind, names)
    if (!seenKinds.has(kind)) {
      seenKinds.add(kind)
      request.log.warn({ scheme: name, reason: kind, detail }, 'first access token refused for this reason')
    }
    return outcome
  }
  const admit = admission(settings, refused)

  const scopesOf = scopeReader(settings)

  function principalOf (request: FastifyRequest, token: string, claims: WardenClaims): AuthPrincipal {
    const principal: AuthPrincipal = Object.freeze({
      scheme: name,
      subject: claims.sub as string,
      scopes: Object.freeze(scopesOf(request, claims)),
      claims: Object.freeze(claims)
    })
    noteToken(principal.claims!, token)
    // Verified now (not from the cache): its issuer's keys answered, for the core's outage log.
    if (several) dependencyAnswered(request, issuerDependency(claims.iss as string))
    cache?.set(token, principal, (claims.exp as number) + clockTolerance)
    return principal
  }

  /** A refusal for what the token is; anything else (the provider's key set is down) is thrown, for a 503. */
  function refuse (request: FastifyRequest, err: unknown): AuthOutcome {
    if (!(err instanceof InvalidToken)) throw err
    return refused(request, err.kind, err.reason, err.claims)
  }

  return (mode, challenges) => {
    const bound = binding(dpop, challenges, refused, admit)
    return function authenticate (request) {
      // RFC 6750 §2.1 and RFC 9449 §7.1; any other scheme is another scheme's business.
      const authorization = request.headers.authorization
      let token = mode === 'required' ? undefined : authorizationCredentials(authorization, 'bearer')
      const proved = token === undefined && mode !== 'off' && (token = authorizationCredentials(authorization, 'dpop')) !== undefined
      if (token === undefined) {
        if (mode === 'required' && authorizationCredentials(authorization, 'bearer') !== undefined) {
          return refused(request, 'dpop', 'a bearer token where DPoP is required')
        }
        return null
      }
      const presented = token
      if (cache !== undefined) {
        // Keyed by the whole token: only the exact string that was verified before can hit, and
        // V8's seeded string hashing gives a caller no byte-by-byte timing to learn from.
        const hit = cache.get(presented, now() / 1000)
        if (hit !== undefined) return bound(request, presented, hit, proved)
      }
      try {
        const claims = verifyToken(presented)
        if (claims instanceof Promise) {
          return claims.then(
            (c) => bound(request, presented, principalOf(request, presented, c), proved),
            (err) => refuse(request, err)
          )
        }
        return bound(request, presented, principalOf(request, presented, claims), proved)
      } catch (err) {
        return refuse(request, err)
      }
    }
  }
}
