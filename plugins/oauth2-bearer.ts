import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { createSigner } from 'fast-jwt'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import fp from 'fastify-plugin'
import { errors } from './errors.js'
import { assertHeaderSafe } from './core/challenge.js'
import { ExpiringCache } from './core/expiring-cache.js'
import { functionOption, integerOption, pathOption, scopesOption, stringOption, urlOption } from './core/options.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal, type WardenClaims, type WardenUser } from './core/types.js'
import { callbackFault } from './core/callbacks.js'
import { credentialRefused } from './core/events.js'
import { ALGORITHMS, ASYMMETRIC, toJwk, type Algorithm, type VerificationKey } from './oauth2-bearer/keys.js'
import { loadKeys } from './oauth2-bearer/key-sources.js'
import { resourceMetadata, schemeDocument } from './oauth2-bearer/document.js'
import { InvalidToken, checkClaims, checkSignature, parseHeader, splitToken, type ClaimRules, type RefusalKind, type TokenHeader } from './oauth2-bearer/verify.js'
import type { AccessTokens, OAuth2BearerOptions } from './oauth2-bearer/options.js'

export type { OAuth2BearerOptions, AccessTokens, IssuedAccessToken, SignableClaims } from './oauth2-bearer/options.js'

const RESERVED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti']

/**
 * The scopes a token grants, of those the scheme declares: `scope` (RFC 9068, a string; some
 * providers send a list), else `scp` (Entra ID, Okta: a string or a list), or `read(claims)`.
 */
function tokenScopes (claims: WardenClaims, declared: ReadonlySet<string>, read?: (claims: WardenClaims) => unknown): string[] {
  const raw = read !== undefined ? read(claims) : claims.scope ?? claims.scp
  const list: unknown[] = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : []
  return list.filter((s, i): s is string => typeof s === 'string' && declared.has(s) && list.indexOf(s) === i)
}

const oauth2BearerPlugin: FastifyPluginAsync<OAuth2BearerOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const name = stringOption('name', opts.name, 'oauth2')
  const realm = opts.realm ?? warden.realm
  assertHeaderSafe('realm', realm)
  const tokenUrl = urlOption('tokenUrl', opts.tokenUrl, '/auth/token')
  const refreshUrl = opts.refreshUrl === undefined ? undefined : urlOption('refreshUrl', opts.refreshUrl)
  const issuers = Array.isArray(opts.issuer) ? opts.issuer.map((iss, i) => stringOption(`issuer[${i}]`, iss)) : [stringOption('issuer', opts.issuer)]
  if (issuers.length === 0) throw new errors.WARDEN_ERR_OPTION('issuer', 'must name at least one issuer')
  const audiences = Array.isArray(opts.audience) ? opts.audience.map((a, i) => stringOption(`audience[${i}]`, a)) : [stringOption('audience', opts.audience)]
  if (audiences.length === 0) throw new errors.WARDEN_ERR_OPTION('audience', 'must name at least one audience')
  const audience = audiences[0]
  const expiresIn = integerOption('expiresIn', opts.expiresIn, 900, 1, 86_400)
  const clockTolerance = integerOption('clockTolerance', opts.clockTolerance, 30, 0, 60)
  const isRevoked = functionOption<NonNullable<OAuth2BearerOptions['isRevoked']>>('isRevoked', opts.isRevoked)
  const resolveUser = functionOption<NonNullable<OAuth2BearerOptions['resolveUser']>>('resolveUser', opts.resolveUser)
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const tokenTypes = opts.tokenTypes === undefined
    ? ['at+jwt', 'application/at+jwt']
    : opts.tokenTypes.map((t, i) => t === null ? null : stringOption(`tokenTypes[${i}]`, t).toLowerCase())
  const claimScopes = functionOption<NonNullable<OAuth2BearerOptions['claimScopes']>>('claimScopes', opts.claimScopes)
  const cache = opts.cache === undefined || opts.cache === false
    ? undefined
    : new ExpiringCache<AuthPrincipal>(integerOption('cache.max', opts.cache.max, 10_000, 1, 10_000_000))
  const schemeScopes = scopesOption('scopes', opts.scopes, warden.scopes)
  if (opts.claims !== undefined && (opts.claims === null || typeof opts.claims !== 'object' || opts.claims.type !== 'object')) {
    throw new errors.WARDEN_ERR_OPTION('claims', 'must be an object schema (TypeBox Type.Object)')
  }
  const ownClaims = opts.claims === undefined ? undefined : TypeCompiler.Compile(opts.claims)
  const keys = loadKeys(opts, now)
  if (opts.algorithms !== undefined && (!Array.isArray(opts.algorithms) || opts.algorithms.length === 0 || opts.algorithms.some((a) => !(ALGORITHMS as readonly string[]).includes(a)))) {
    throw new errors.WARDEN_ERR_OPTION('algorithms', `must be a non-empty list of ${ALGORITHMS.join(', ')}`)
  }
  // The allow-list is explicit: the configured one, the local keys' own, or (resource server)
  // every asymmetric algorithm, each key still verifying only those of its type.
  const allowed = new Set<Algorithm>(opts.algorithms ?? (keys.signing === undefined ? ASYMMETRIC : keys.local.map((k) => k.alg)))
  const rules: ClaimRules = { issuers, audiences, tokenTypes, requireJti: opts.requireJti ?? true, clockTolerance, now }
  const challengeParams: Array<[string, string]> = [['realm', realm]]
  const metadata = opts.resourceMetadata === undefined ? undefined : resourceMetadata(opts.resourceMetadata, Object.keys(warden.scopes).filter((s) => opts.scopes === undefined || opts.scopes.includes(s)))
  if (metadata !== undefined) challengeParams.push(['resource_metadata', metadata.url])

  // Header segments repeat on every request (one per key); parse each once. Bounded, so
  // made-up headers cannot grow it.
  const headers = new Map<string, TokenHeader>()
  function headerOf (segment: string): TokenHeader {
    let header = headers.get(segment)
    if (header === undefined) {
      header = parseHeader(segment, rules, allowed)
      if (headers.size < 64) headers.set(segment, header)
    }
    return header
  }

  function verifyWith (key: VerificationKey | undefined, header: TokenHeader, parts: [string, string, string]): WardenClaims {
    if (key === undefined) throw new InvalidToken('unknown key', 'unknown_key')
    checkSignature(key, header.alg, parts[0] + '.' + parts[1], parts[2])
    const claims = checkClaims(parts[1], rules)
    if (ownClaims !== undefined && !ownClaims.Check(claims)) throw new InvalidToken('claims do not fit the claims schema', 'claims', claims)
    return claims
  }

  /** Verify a token fully; sync for local keys, a promise for a remote key set. */
  function verifyToken (token: string): WardenClaims | Promise<WardenClaims> {
    const parts = splitToken(token)
    const header = headerOf(parts[0])
    const key = keys.resolve(header)
    return key instanceof Promise ? key.then((k) => verifyWith(k, header, parts)) : verifyWith(key, header, parts)
  }

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

  function withUser (request: FastifyRequest, principal: AuthPrincipal): AuthOutcome | Promise<AuthOutcome> {
    if (resolveUser === undefined) return principal
    const found = (user: unknown): AuthOutcome => {
      if (user === null) return refused(request, 'user', 'resolveUser found no user', principal.claims)
      if (typeof user !== 'object' || Array.isArray(user)) {
        callbackFault(request, 'resolveUser', '(result)', 'must be an object or null')
        return INVALID_CREDENTIALS
      }
      return Object.freeze({ ...principal, user: Object.freeze(user as WardenUser) })
    }
    const user = resolveUser(principal.claims as WardenClaims, request)
    return user instanceof Promise ? user.then(found) : found(user)
  }

  function admit (request: FastifyRequest, principal: AuthPrincipal): AuthOutcome | Promise<AuthOutcome> {
    if (isRevoked === undefined) return withUser(request, principal)
    const decide = (revoked: unknown): AuthOutcome | Promise<AuthOutcome> => {
      if (revoked === false) return withUser(request, principal)
      if (revoked === true) return refused(request, 'revoked', 'isRevoked', principal.claims)
      // Anything but a boolean fails closed: a missing `return` must not let a revoked token in.
      callbackFault(request, 'isRevoked', '(result)', 'must be a boolean')
      return INVALID_CREDENTIALS
    }
    const revoked = isRevoked(principal.claims as WardenClaims, request)
    return revoked instanceof Promise ? revoked.then(decide) : decide(revoked)
  }

  function accept (request: FastifyRequest, token: string, claims: WardenClaims): AuthOutcome | Promise<AuthOutcome> {
    const read = claimScopes === undefined
      ? undefined
      : (c: WardenClaims): unknown => {
          const found = claimScopes(c)
          if (!Array.isArray(found)) callbackFault(request, 'claimScopes', '(result)', 'must be an array of scope names')
          return found
        }
    const principal: AuthPrincipal = Object.freeze({ scheme: name, subject: claims.sub as string, scopes: Object.freeze(tokenScopes(claims, schemeScopes, read)), claims: Object.freeze(claims) })
    cache?.set(token, principal, (claims.exp as number) + clockTolerance)
    return admit(request, principal)
  }

  /** A refusal for what the token is; anything else (the provider's key set is down) is thrown, for a 503. */
  function refuse (request: FastifyRequest, err: unknown): AuthOutcome {
    if (!(err instanceof InvalidToken)) throw err
    return refused(request, err.kind, err.reason, err.claims)
  }

  function authenticate (request: FastifyRequest): AuthOutcome | Promise<AuthOutcome> {
    const authorization = request.headers.authorization
    // RFC 6750 §2.1: the scheme name is case-insensitive; anything else is another scheme's business.
    if (authorization === undefined || authorization.length < 7 || authorization.charCodeAt(6) !== 32 ||
      authorization.slice(0, 6).toLowerCase() !== 'bearer') return null
    const token = authorization.slice(7)
    if (cache !== undefined) {
      // Keyed by the whole token: only the exact string that was verified before can hit, and
      // V8's seeded string hashing gives a caller no byte-by-byte timing to learn from.
      const hit = cache.get(token, now() / 1000)
      if (hit !== undefined) return admit(request, hit)
    }
    try {
      const claims = verifyToken(token)
      if (claims instanceof Promise) return claims.then((c) => accept(request, token, c), (err) => refuse(request, err))
      return accept(request, token, claims)
    } catch (err) {
      return refuse(request, err)
    }
  }

  const signing = keys.signing
  // fast-jwt (the signer inside @fastify/jwt) signs. No plugin decorates the app with a second
  // verifier (request.jwtVerify, fastify.jwt) that would skip typ and revocation, and
  // request.user stays the app's: accessTokens.verify() is the one verifier, with the scheme's rules.
  const jwt = signing === undefined
    ? undefined
    : { sign: createSigner({ key: signing.pem, algorithm: signing.alg, iss: issuers[0], aud: audience, header: { alg: signing.alg, typ: 'at+jwt' }, ...(signing.kid === undefined ? {} : { kid: signing.kid }) }) }

  const accessTokens: AccessTokens = {
    expiresIn,
    issuer: issuers[0],
    scheme: name,
    scopes: schemeScopes,
    revocable: isRevoked !== undefined,
    sign (claims, options) {
      if (signing === undefined) throw new errors.WARDEN_ERR_SIGN('the scheme verifies tokens of an external provider (jwksUrl) and holds no signing key')
      if (typeof claims?.sub !== 'string' || claims.sub.length === 0) throw new errors.WARDEN_ERR_SIGN("'sub' must be a non-empty string")
      for (const claim of RESERVED_CLAIMS) {
        if (claim in claims) throw new errors.WARDEN_ERR_SIGN(`'${claim}' is set by the signer`)
      }
      const ttl = integerOption('expiresIn', options?.expiresIn, expiresIn, 1, 86_400)
      if ('scopes' in claims) throw new errors.WARDEN_ERR_SIGN("the claim is 'scope' (RFC 9068), a list or a space-separated string, not 'scopes'")
      const { scope, ...rest } = claims
      const granted = scope === undefined ? [] : typeof scope === 'string' ? scope.split(' ').filter(Boolean) : scope
      for (const s of granted) {
        if (!schemeScopes.has(s)) throw new errors.WARDEN_ERR_SIGN(`scope '${s}' is not one the '${name}' scheme grants`)
      }
      const iat = Math.floor(now() / 1000)
      const jti = randomUUID()
      const payload: Record<string, unknown> = { ...rest, iat, exp: iat + ttl, jti }
      if (scope !== undefined) payload.scope = granted.join(' ')
      if (ownClaims !== undefined) {
        const fault = ownClaims.Errors({ ...payload, iss: issuers[0], aud: audience }).First()
        if (fault !== undefined) throw new errors.WARDEN_ERR_SIGN(`claim '${fault.path.slice(1) || '(root)'}' ${fault.message.toLowerCase()}`)
      }
      return { token: jwt!.sign(payload), jti, expiresIn: ttl, expiresAt: iat + ttl }
    },
    async verify (token) {
      return await verifyToken(token)
    },
    jwks () {
      return { keys: signing === undefined || signing.alg === 'HS256' ? [] : keys.local.map(toJwk) }
    }
  }
  fastify.decorate('accessTokens', accessTokens)

  const jwksPath = opts.jwksPath === false ? false : pathOption('jwksPath', opts.jwksPath, '/.well-known/jwks.json')
  if (jwksPath !== false && signing !== undefined && signing.alg !== 'HS256') {
    const body = JSON.stringify(accessTokens.jwks())
    fastify.get(jwksPath, {
      schema: {
        security: [],
        summary: 'Public keys that verify access tokens (JWK Set, RFC 7517)',
        tags: ['auth'],
        response: { 200: { description: 'The public keys', type: 'object', required: ['keys'], properties: { keys: { type: 'array', maxItems: 100, items: { type: 'object', additionalProperties: true } } } } }
      }
    }, async (_request, reply) => reply.type('application/json').header('cache-control', 'public, max-age=300').send(body))
  }

  if (metadata !== undefined) {
    const body = JSON.stringify(metadata.document)
    fastify.get(metadata.path, {
      schema: {
        security: [],
        summary: 'How to get a token for this API (RFC 9728 protected-resource metadata)',
        tags: ['auth'],
        response: { 200: { description: 'Protected-resource metadata', type: 'object', required: ['resource'], properties: { resource: { type: 'string', format: 'uri', maxLength: 2048 } }, additionalProperties: true } }
      }
    }, async (_request, reply) => reply.type('application/json').header('cache-control', 'public, max-age=3600').send(body))
  }

  if (keys.remote !== undefined && opts.prefetch !== false) {
    const { keySet } = keys.remote
    // The provider's keys before the first request; a provider that is down at start-up is only
    // logged unless the keys are 'required' (requests then get a 503 until it answers).
    fastify.addHook('onReady', async function () {
      await keySet.load().catch((err: unknown) => {
        if (opts.prefetch === 'required') throw err
        fastify.log.warn({ err, scheme: name }, 'the provider\'s keys could not be fetched at start-up')
      })
    })
  }

  const scopeDescriptions = Object.fromEntries(Object.entries(warden.scopes).filter(([s]) => schemeScopes.has(s)))
  warden.addScheme({
    name,
    scopes: schemeScopes,
    openapi: schemeDocument(opts, keys, { tokenUrl, refreshUrl, scopes: scopeDescriptions }),
    challenge: warden.challenge('Bearer', challengeParams, true),
    authenticate
  })
}

/** OAuth2 bearer scheme: verifies RFC 9068 JWT access tokens and signs them for the token endpoint. */
export const oauth2Bearer = fp(oauth2BearerPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-bearer',
  dependencies: ['fastify-warden']
})
export default oauth2Bearer
