import { randomUUID, type JsonWebKey } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { OpenAPIV3_1 } from 'openapi-types'
import { createSigner } from 'fast-jwt'
import type { TObject } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import fp from 'fastify-plugin'
import { errors } from './errors.js'
import { assertHeaderSafe } from './core/challenge.js'
import { ExpiringCache } from './core/expiring-cache.js'
import { functionOption, integerOption, pathOption, scopesOption, stringOption, urlOption } from './core/options.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal, type WardenClaims, type WardenUser } from './core/types.js'
import { ALGORITHMS, ASYMMETRIC, privateKey, publicKey, secretKey, toJwk, type Algorithm, type KeyInput, type VerificationKey } from './oauth2-bearer/keys.js'
import { discoverJwksUri, findKey, metadataUrls, remoteKeySet, type RemoteKeySet } from './oauth2-bearer/remote-keys.js'
import { InvalidToken, checkClaims, checkSignature, parseHeader, splitToken, type ClaimRules, type RefusalKind, type TokenHeader } from './oauth2-bearer/verify.js'
import { callbackFault } from './core/callbacks.js'
import { securityEvent } from './core/events.js'

export interface OAuth2BearerOptions {
  /** Scheme name (key in `components.securitySchemes` and in route requirements). Default `'oauth2'`. */
  name?: string
  /** Realm of the `Bearer` challenge. Default: the core's realm. */
  realm?: string
  description?: string
  /** Where clients get tokens (password flow), documented in the scheme. Default `/auth/token`. */
  tokenUrl?: string
  /** Where clients refresh tokens, documented in the flow. Default: none (`oauth2Server` sets it when refresh is on). */
  refreshUrl?: string
  /** Scopes this scheme grants; a subset of the core's catalog, all of it by default. */
  scopes?: string[]
  /** Expected `iss`; tokens are signed with the first one. A list accepts several issuers. */
  issuer: string | string[]
  /** Expected `aud` (the resource server's identifier, a URL or a client id such as `account`); a list accepts any of them, tokens are signed for the first. */
  audience: string | string[]
  /** HS256 secret, at least 32 bytes. Exclusive with `signingKey` and `jwksUrl`. */
  secret?: string | Buffer
  /** Asymmetric signing key (Ed25519, P-256/384/521 or RSA ≥ 2048 bits) with its `kid`. */
  signingKey?: { kid: string, privateKey: KeyInput }
  /**
   * What the signing key signs (`JWT_ALGORITHM`): it must fit the key, or registration fails
   * naming both (ES256 with an Ed25519 key does not silently sign EdDSA). Default: the key's own
   * (EdDSA, ES256/384/512 by curve, RS256 for RSA); HS256 with `secret`.
   */
  algorithm?: Algorithm
  /**
   * Algorithms accepted in tokens. Default: those the configured keys sign with; in
   * resource-server mode every asymmetric one (RS/PS/ES 256–512, EdDSA), each key verifying only
   * those of its type.
   */
  algorithms?: Algorithm[]
  /** More keys that verify but do not sign (previous keys during rotation). */
  verificationKeys?: Array<{ kid: string, publicKey: KeyInput | JsonWebKey }>
  /** Resource-server mode: verify tokens of an external OpenID provider with the keys at this URL. */
  jwksUrl?: string
  /** Where the public keys are published when signing asymmetrically; `false` to not publish. Default `/.well-known/jwks.json`. */
  jwksPath?: string | false
  /** Lifetime of issued access tokens, seconds. Default 900. */
  expiresIn?: number
  /** Leeway for `exp`/`nbf`/`iat`, seconds, at most 60. Default 30. */
  clockTolerance?: number
  /** Accepted `typ` headers, lower case. Default `['at+jwt', 'application/at+jwt']` (RFC 9068). */
  tokenTypes?: Array<string | null>
  /** Refuse tokens without `jti` (revocation by id needs one). Default `true`; Entra ID sends none. */
  requireJti?: boolean
  /**
   * Where a provider puts the scopes, for those that use neither `scope` nor `scp` (Keycloak:
   * `(claims) => claims.realm_access?.roles`). Only scopes the scheme declares are kept.
   */
  claimScopes?: (claims: WardenClaims) => readonly string[]
  /**
   * Resource-server mode by discovery: `true` reads `{issuer}/.well-known/openid-configuration`
   * (RFC 8414's `/.well-known/oauth-authorization-server` when there is none), or give the metadata
   * URL; its `issuer` must match exactly, and its `jwks_uri` is where the keys are.
   */
  discovery?: boolean | string
  /** Fetch the provider's keys while the app starts: `true` tries (a failure is logged), `'required'` fails `ready()`. Default `true`. */
  prefetch?: boolean | 'required'
  /**
   * How the scheme is documented. Default: the password flow of `tokenUrl` with your own keys;
   * with a provider, `openIdConnect` (discovery) or an HTTP bearer JWT — never a password flow
   * whose token URL does not exist on this service. Give `{ flows }` for the provider's real flows.
   */
  documentation?: { openIdConnectUrl: string } | { flows: OpenAPIV3_1.OAuth2SecurityScheme['flows'] }
  /**
   * A TypeBox schema of your own claims (`Type.Object({ tenant_id: Type.String() })`): a token
   * whose claims do not fit is `invalid_token`, and `sign()` refuses claims that do not fit.
   * Type them by merging `Static<typeof schema>` into `WardenClaims`.
   */
  claims?: TObject
  /** Called for every verified token (cached or not); `true` refuses it. */
  isRevoked?: (claims: WardenClaims, request: FastifyRequest) => boolean | Promise<boolean>
  /**
   * The current user of a verified, unrevoked token, set as `request.auth.user` (as Basic's
   * `verify` can): FastAPI's `get_current_user`. `null` refuses the token (the account is gone
   * or disabled). Called for every request; cached tokens included.
   */
  resolveUser?: (claims: WardenClaims, request: FastifyRequest) => WardenUser | null | Promise<WardenUser | null>
  /** Cache verified tokens: `{ max }` entries. Default off. */
  cache?: false | { max?: number }
  /**
   * Publish RFC 9728 protected-resource metadata for `resource` (this API's identifier, an
   * absolute URL) and advertise it in every `Bearer` challenge (`resource_metadata=`), so a
   * client can discover where to get a token.
   */
  resourceMetadata?: { resource: string, authorizationServers?: string[], documentation?: string }
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

/** The claims the signer sets itself; `sign()` refuses them. */
type SignerClaims = 'iss' | 'aud' | 'exp' | 'nbf' | 'iat' | 'jti'

/**
 * What `sign()` takes: `sub`, `scope` (a list or a space-separated string), and your own claims
 * as merged into `WardenClaims`, the required ones required.
 */
export type SignableClaims = { [K in keyof WardenClaims as K extends SignerClaims | 'sub' | 'scope' ? never : K]: WardenClaims[K] } &
{ sub: string, scope?: string | readonly string[] }

/** A freshly signed access token. */
export interface IssuedAccessToken {
  token: string
  jti: string
  /** Seconds. */
  expiresIn: number
  /** Seconds since the epoch. */
  expiresAt: number
}

/** Signs and verifies the access tokens of an `oauth2Bearer` scheme; decorated as `fastify.accessTokens`. */
export interface AccessTokens {
  /** Lifetime of issued tokens, seconds. */
  readonly expiresIn: number
  /** The `iss` of issued tokens. */
  readonly issuer: string
  /** Name of the scheme that verifies these tokens. */
  readonly scheme: string
  /** Scopes the scheme grants: `sign()` refuses any other. */
  readonly scopes: ReadonlySet<string>
  /** Whether the scheme checks revocation (`isRevoked`), so that revoking a token means something. */
  readonly revocable: boolean
  /**
   * Sign an RFC 9068 access token. `scope` may be a list or a space-separated string of scopes
   * the scheme grants.
   */
  sign (claims: SignableClaims, options?: { expiresIn?: number }): IssuedAccessToken
  /** Verify a token exactly as the scheme does (signature, header, claims); throws on any fault. */
  verify (token: string): Promise<WardenClaims>
  /** The public keys, as a JWK Set (empty for HS256 and resource-server mode). */
  jwks (): { keys: JsonWebKey[] }
}

declare module 'fastify' {
  interface FastifyInstance {
    accessTokens: AccessTokens
  }
}

const RESERVED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti']

interface Keys {
  /** `undefined` in resource-server mode. */
  signing: { kid: string | undefined, alg: Algorithm, pem: string | Buffer } | undefined
  local: VerificationKey[]
  resolve: (header: TokenHeader) => VerificationKey | undefined | Promise<VerificationKey | undefined>
  /** Resource-server mode: the provider's key set, and the metadata URL when discovered. */
  remote?: { keySet: RemoteKeySet, metadataUrl?: string }
}

/** https, or http to this machine only: keys fetched in clear text from elsewhere could be anyone's. */
function isSecureUrl (url: string): boolean {
  const { protocol, hostname } = new URL(url)
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname)
}

function loadKeys (opts: OAuth2BearerOptions, now: () => number): Keys {
  const discovery = opts.discovery === undefined || opts.discovery === false ? undefined : opts.discovery
  const modes = [opts.secret !== undefined, opts.signingKey !== undefined, opts.jwksUrl !== undefined, discovery !== undefined].filter(Boolean).length
  if (modes !== 1) throw new errors.WARDEN_ERR_OPTION('secret', "or 'signingKey' or 'jwksUrl' or 'discovery': exactly one must be given")
  if (opts.algorithm !== undefined && !(ALGORITHMS as readonly string[]).includes(opts.algorithm)) throw new errors.WARDEN_ERR_OPTION('algorithm', `must be one of ${ALGORITHMS.join(', ')}`)
  if (opts.secret !== undefined) {
    if (opts.verificationKeys !== undefined) throw new errors.WARDEN_ERR_OPTION('verificationKeys', "is for asymmetric keys; it cannot be combined with 'secret'")
    if (opts.algorithm !== undefined && opts.algorithm !== 'HS256') throw new errors.WARDEN_ERR_KEY('secret', `a secret signs HS256, not ${opts.algorithm}`)
    const key = secretKey('secret', opts.secret)
    return { signing: { kid: undefined, alg: 'HS256', pem: key.key.export() }, local: [key], resolve: () => key }
  }
  if (opts.jwksUrl !== undefined) {
    const url = urlOption('jwksUrl', opts.jwksUrl)
    if (url.startsWith('/')) throw new errors.WARDEN_ERR_OPTION('jwksUrl', 'must be an absolute URL')
    if (!isSecureUrl(url)) throw new errors.WARDEN_ERR_OPTION('jwksUrl', 'must be https (http only for a provider on this machine: localhost, 127.0.0.1, [::1])')
    const keySet = remoteKeySet(url, { now })
    return { signing: undefined, local: [], resolve: keySet.resolve, remote: { keySet } }
  }
  if (discovery !== undefined) {
    const issuer = stringOption('issuer', Array.isArray(opts.issuer) ? opts.issuer[0] : opts.issuer)
    const urls = typeof discovery === 'string' ? [urlOption('discovery', discovery)] : metadataUrls(urlOption('issuer', issuer))
    for (const url of urls) {
      if (url.startsWith('/') || !isSecureUrl(url)) throw new errors.WARDEN_ERR_OPTION(typeof discovery === 'string' ? 'discovery' : 'issuer', 'must be an https URL (http only for a provider on this machine)')
    }
    let jwksUri: Promise<string> | undefined
    // Discovered once; a failure is retried on the next fetch of the keys (itself once per cooldown).
    const keySet = remoteKeySet(async () => await (jwksUri ??= discoverJwksUri(issuer, urls, 5_000, isSecureUrl).catch((err: unknown) => { jwksUri = undefined; throw err })), { now })
    return { signing: undefined, local: [], resolve: keySet.resolve, remote: { keySet, metadataUrl: urls[0] } }
  }
  const signing = privateKey('signingKey.privateKey', opts.signingKey?.kid, opts.signingKey!.privateKey, opts.algorithm)
  const local: VerificationKey[] = [{ kid: signing.kid, alg: signing.alg, algs: new Set([signing.alg]), key: signing.publicKey }]
  for (const [i, k] of (opts.verificationKeys ?? []).entries()) {
    const key = publicKey(`verificationKeys[${i}]`, k?.kid, k?.publicKey)
    if (local.some((other) => other.kid === key.kid)) throw new errors.WARDEN_ERR_KEY(`verificationKeys[${i}]`, `kid '${key.kid}' is used twice`)
    local.push(key)
  }
  return {
    signing: { kid: signing.kid, alg: signing.alg, pem: signing.key.export({ type: 'pkcs8', format: 'pem' }) },
    local,
    resolve: (header) => findKey(local, header)
  }
}

/**
 * The scopes a token grants, of those the scheme declares: `scope` (RFC 9068, a string; some
 * providers send a list), else `scp` (Entra ID, Okta: a string or a list), or `read(claims)`.
 */
function tokenScopes (claims: WardenClaims, declared: ReadonlySet<string>, read?: (claims: WardenClaims) => unknown): string[] {
  const raw = read !== undefined ? read(claims) : claims.scope ?? claims.scp
  const list: unknown[] = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : []
  return list.filter((s, i): s is string => typeof s === 'string' && declared.has(s) && list.indexOf(s) === i)
}

/** RFC 9728 §3: the metadata document and where it lives for a resource identifier. */
function resourceMetadata (opts: NonNullable<OAuth2BearerOptions['resourceMetadata']>, scopes: string[]): { url: string, path: string, document: Record<string, unknown> } {
  let resource: URL
  try {
    resource = new URL(stringOption('resourceMetadata.resource', opts.resource))
  } catch {
    throw new errors.WARDEN_ERR_OPTION('resourceMetadata.resource', 'must be an absolute URL')
  }
  if (resource.search !== '' || resource.hash !== '') throw new errors.WARDEN_ERR_OPTION('resourceMetadata.resource', 'must have no query or fragment (RFC 9728 §1.2)')
  const path = '/.well-known/oauth-protected-resource' + (resource.pathname === '/' ? '' : resource.pathname)
  const authorizationServers = (opts.authorizationServers ?? []).map((s, i) => urlOption(`resourceMetadata.authorizationServers[${i}]`, s))
  return {
    url: resource.origin + path,
    path,
    document: {
      resource: opts.resource,
      ...(authorizationServers.length === 0 ? {} : { authorization_servers: authorizationServers }),
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      ...(opts.documentation === undefined ? {} : { resource_documentation: urlOption('resourceMetadata.documentation', opts.documentation) })
    }
  }
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
    const token = claims === undefined ? {} : { jti: claims.jti, sub: claims.sub }
    securityEvent(request, 'auth.failed', { scheme: name, reason: kind, ...token })
    if (!seenKinds.has(kind)) {
      seenKinds.add(kind)
      request.log.warn({ scheme: name, reason: kind, detail }, 'first access token refused for this reason')
    }
    return INVALID_CREDENTIALS
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

/**
 * The scheme as the document shows it, true to where tokens come from: the password flow of this
 * service's token endpoint with its own keys; with a provider, `openIdConnect` (discovered) or an
 * HTTP bearer JWT, unless the app names the provider's flows.
 */
function schemeDocument (opts: OAuth2BearerOptions, keys: Keys, own: { tokenUrl: string, refreshUrl: string | undefined, scopes: Record<string, string> }): OpenAPIV3_1.SecuritySchemeObject {
  const described = (text: string): { description: string } => ({ description: opts.description ?? text })
  const documentation = opts.documentation
  if (documentation !== undefined && 'openIdConnectUrl' in documentation) {
    return { type: 'openIdConnect', openIdConnectUrl: urlOption('documentation.openIdConnectUrl', documentation.openIdConnectUrl), ...described('Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`.') }
  }
  if (documentation !== undefined) return { type: 'oauth2', flows: documentation.flows, ...described('Tokens of the OAuth 2 provider; send the access token as `Authorization: Bearer <token>`.') }
  if (keys.remote?.metadataUrl !== undefined) {
    return { type: 'openIdConnect', openIdConnectUrl: keys.remote.metadataUrl, ...described('Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`.') }
  }
  if (keys.remote !== undefined) return { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', ...described('An access token (JWT) of the OAuth 2 provider, verified with its published keys.') }
  return {
    type: 'oauth2',
    ...described('OAuth2 password flow; send the access token as `Authorization: Bearer <token>`. Access tokens are JWTs (RFC 9068) issued and verified following RFC8725 (algorithm allow-list, typ, iss, aud, exp checked).'),
    flows: { password: { tokenUrl: own.tokenUrl, ...(own.refreshUrl === undefined ? {} : { refreshUrl: own.refreshUrl }), scopes: own.scopes } }
  }
}

/** OAuth2 bearer scheme: verifies RFC 9068 JWT access tokens and signs them for the token endpoint. */
export const oauth2Bearer = fp(oauth2BearerPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-bearer',
  dependencies: ['fastify-warden']
})
export default oauth2Bearer
