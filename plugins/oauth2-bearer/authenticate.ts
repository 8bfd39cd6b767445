import type { FastifyRequest } from 'fastify'
import { authorizationCredentials } from '../core/authorization.js'
import { callbackFault } from '../core/callback-results.js'
import { credentialRefused } from '../core/events.js'
import { ExpiringCache } from '../core/expiring-cache.js'
import type { AuthOutcome, AuthPrincipal, WardenClaims } from '../core/types.js'
import { admission } from './admission.js'
import { InvalidToken, type RefusalKind } from '../errors.js'
import type { BearerSettings } from './settings.js'

/**
 * The scopes a token grants, of those the scheme declares: `scope` (RFC 9068, a string; some
 * providers send a list), else `scp` (Entra ID, Okta: a string or a list), or `read(claims)`.
 */
function tokenScopes (claims: WardenClaims, declared: ReadonlySet<string>, read?: (claims: WardenClaims) => unknown): string[] {
  const raw = read !== undefined ? read(claims) : (claims.scope ?? claims.scp)
  const list: unknown[] = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : []
  return list.filter((s, i): s is string => typeof s === 'string' && declared.has(s) && list.indexOf(s) === i)
}

/** The scheme's `authenticate`: the bearer token of a request, verified (or cached) and admitted. */
export function bearerAuthenticator (
  settings: BearerSettings,
  verifyToken: (token: string) => WardenClaims | Promise<WardenClaims>
): (request: FastifyRequest) => AuthOutcome | Promise<AuthOutcome> {
  const { name, scopes, claimScopes, clockTolerance, now } = settings
  const cache = settings.cacheMax === undefined ? undefined : new ExpiringCache<AuthPrincipal>(settings.cacheMax)

  // The first refusal of each kind is a warning: a misconfigured issuer or audience shows at once.
  const seenKinds = new Set<RefusalKind>()
  function refused (request: FastifyRequest, kind: RefusalKind, detail: string, claims?: WardenClaims): AuthOutcome {
    const outcome: AuthOutcome = credentialRefused(request, name, kind, claims === undefined ? {} : { jti: claims.jti, sub: claims.sub })
    if (!seenKinds.has(kind)) {
      seenKinds.add(kind)
      request.log.warn({ scheme: name, reason: kind, detail }, 'first access token refused for this reason')
    }
    return outcome
  }
  const admit = admission(settings, refused)

  function accept (request: FastifyRequest, token: string, claims: WardenClaims): AuthOutcome | Promise<AuthOutcome> {
    const read =
      claimScopes === undefined
        ? undefined
        : (c: WardenClaims): unknown => {
            const found = claimScopes(c)
            if (!Array.isArray(found)) callbackFault(request, 'claimScopes', '(result)', 'must be an array of scope names')
            return found
          }
    const principal: AuthPrincipal = Object.freeze({
      scheme: name,
      subject: claims.sub as string,
      scopes: Object.freeze(tokenScopes(claims, scopes, read)),
      claims: Object.freeze(claims)
    })
    cache?.set(token, principal, (claims.exp as number) + clockTolerance)
    return admit(request, principal)
  }

  /** A refusal for what the token is; anything else (the provider's key set is down) is thrown, for a 503. */
  function refuse (request: FastifyRequest, err: unknown): AuthOutcome {
    if (!(err instanceof InvalidToken)) throw err
    return refused(request, err.kind, err.reason, err.claims)
  }

  return function authenticate (request) {
    // RFC 6750 §2.1; any other scheme is another scheme's business.
    const token = authorizationCredentials(request.headers.authorization, 'bearer')
    if (token === undefined) return null
    if (cache !== undefined) {
      // Keyed by the whole token: only the exact string that was verified before can hit, and
      // V8's seeded string hashing gives a caller no byte-by-byte timing to learn from.
      const hit = cache.get(token, now() / 1000)
      if (hit !== undefined) return admit(request, hit)
    }
    try {
      const claims = verifyToken(token)
      if (claims instanceof Promise) {
        return claims.then(
          (c) => accept(request, token, c),
          (err) => refuse(request, err)
        )
      }
      return accept(request, token, claims)
    } catch (err) {
      return refuse(request, err)
    }
  }
}
