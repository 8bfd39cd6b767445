import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { errors } from '../errors.js'
import { integerOption } from '../core/option-checks.js'
import type { WardenClaims } from '../core/types.js'
import { toJwk } from './keys.js'
import type { BearerSettings } from './settings.js'
import { dpopProofs } from './dpop.js'
import type { AccessTokens, SignableClaims } from './options.js'

/** The claims the signer sets itself. */
const RESERVED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti']

/** The scopes a `sign()` call grants, each one the scheme declares. */
function grantedScopes (scope: SignableClaims['scope'], settings: BearerSettings): readonly string[] {
  const granted = scope === undefined ? [] : typeof scope === 'string' ? scope.split(' ').filter(Boolean) : scope
  for (const s of granted) {
    if (!settings.scopes.has(s)) throw new errors.WARDEN_ERR_SIGN(`scope '${s}' is not one the '${settings.name}' scheme grants`)
  }
  return granted
}

/**
 * fast-jwt (the signer inside @fastify/jwt) signs; it takes key bytes, so the key is exported
 * here, once. No plugin decorates the app with a second verifier (`request.jwtVerify`,
 * `fastify.jwt`) that would skip `typ` and revocation, and `request.user` stays the app's:
 * `verify()` is the scheme's own verifier.
 */
function signerOf (settings: BearerSettings): ((payload: Record<string, unknown>) => string) | undefined {
  const signing = settings.keys.signing
  if (signing === undefined) return undefined
  const key = signing.key.type === 'secret' ? signing.key.export() : signing.key.export({ type: 'pkcs8', format: 'pem' })
  return createSigner({
    key,
    algorithm: signing.alg,
    iss: settings.issuers[0],
    aud: settings.audiences[0],
    header: { alg: signing.alg, typ: 'at+jwt' },
    ...(signing.kid === undefined ? {} : { kid: signing.kid })
  })
}

/** `fastify.accessTokens`: signs tokens this scheme accepts, and verifies exactly as it does. */
export function accessTokens (settings: BearerSettings, verifyToken: (token: string) => WardenClaims | Promise<WardenClaims>): AccessTokens {
  const { expiresIn, issuers, audiences, ownClaims, now, keys } = settings
  const sign = signerOf(settings)
  return {
    expiresIn,
    issuer: issuers[0],
    scheme: settings.name,
    scopes: settings.scopes,
    revocable: settings.isRevoked !== undefined,
    jwksPath: settings.jwksPath,
    signs: sign !== undefined,
    sign (claims, options) {
      if (sign === undefined) {
        throw new errors.WARDEN_ERR_SIGN(
          settings.several === undefined
            ? 'the scheme verifies tokens of an external provider (jwksUrl) and holds no signing key'
            : 'the scheme verifies tokens of several issuers (issuers) and holds no signing key'
        )
      }
      if (typeof claims?.sub !== 'string' || claims.sub.length === 0) throw new errors.WARDEN_ERR_SIGN("'sub' must be a non-empty string")
      for (const claim of RESERVED_CLAIMS) {
        if (claim in claims) throw new errors.WARDEN_ERR_SIGN(`'${claim}' is set by the signer`)
      }
      const ttl = integerOption('expiresIn', options?.expiresIn, expiresIn, 1, 86_400)
      if ('scopes' in claims) throw new errors.WARDEN_ERR_SIGN("the claim is 'scope' (RFC 9068), a list or a space-separated string, not 'scopes'")
      const { scope, ...rest } = claims
      const granted = grantedScopes(scope, settings)
      const iat = Math.floor(now() / 1000)
      const jti = randomUUID()
      const payload: Record<string, unknown> = { ...rest, iat, exp: iat + ttl, jti }
      if (scope !== undefined) payload.scope = granted.join(' ')
      if (ownClaims !== undefined) {
        const fault = ownClaims.Errors({ ...payload, iss: issuers[0], aud: audiences[0] }).First()
        if (fault !== undefined) throw new errors.WARDEN_ERR_SIGN(`claim '${fault.path.slice(1) || '(root)'}' ${fault.message.toLowerCase()}`)
      }
      return { token: sign(payload), jti, expiresIn: ttl, expiresAt: iat + ttl }
    },
    async verify (token) {
      return await verifyToken(token)
    },
    jwks () {
      return { keys: keys.publicKeys.map(toJwk) }
    },
    dpop: settings.dpop === undefined ? undefined : dpopProofs(settings.dpop)
  }
}
