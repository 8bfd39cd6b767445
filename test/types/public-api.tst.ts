// Type tests: compiled by `npm run typecheck` (and before `npm test`), never run. Each
// `@ts-expect-error` must stay an error, or the type check fails.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import * as W from '../../plugins/index.js'
import * as S from '../../schemas/index.js'
import type { Cluster, Redis } from 'ioredis'
import { redisDpopReplay, type DpopReplayRedis, type RedisDpopReplayOptions } from '../../stores/index.js'
import warden, { apiKey, basicAuth, oauth2Bearer, openapi, type AuthPrincipal, type IssuedAccessToken, type WardenClaims } from '../../plugins/index.js'

// Users type their own claims by merging into WardenClaims.
declare module '../../plugins/core/types.js' {
  interface WardenClaims {
    tenant_id?: string
  }
}

const app = Fastify()
await app.register(warden, { scopes: { 'users:read': 'Read users' }, defaultSecurity: [{ oauth2: [] }] })
await app.register(openapi, { info: { title: 'T', version: '1' } })
await app.register(oauth2Bearer, { secret: 'x'.repeat(32), issuer: 'https://id', audience: 'https://api', cache: { max: 100 } })
await app.register(apiKey, { secret: 'x'.repeat(32), lookup: async (prefix) => prefix === 'x' ? null : null })
await app.register(basicAuth, { verify: async (username) => username === 'a' ? { subject: 'a', scopes: [] } : null })

app.get('/users', { schema: { security: [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }] } }, async (request) => {
  const auth: AuthPrincipal | null = request.auth
  if (auth === null) return null
  const scopes: readonly string[] = auth.scopes
  const tenant: string | undefined = auth.claims?.tenant_id
  const claims: Readonly<WardenClaims> | undefined = auth.claims
  // @ts-expect-error a principal is read-only
  auth.subject = 'someone else'
  // @ts-expect-error so are its scopes
  auth.scopes.push('admin')
  return { scopes, tenant, claims }
})

// request.auth is non-null where the route's own requirement demands a credential: no `!`.
app.get('/me', { schema: { security: [{ oauth2: [] }, { apiKey: [] }] } }, async (request) => request.auth.subject)
app.get('/open', { schema: { security: [] } }, async (request) => {
  const nobody: null = request.auth
  return nobody
})
app.get('/maybe', { schema: { security: [{ oauth2: [] }, {}] } }, async (request) => {
  // @ts-expect-error optional authentication: anonymous callers get null
  return request.auth.subject
})
app.get('/by-default', async (request) => {
  // @ts-expect-error the default requirement may be public (setDefaultSecurity([])): may be null
  return request.auth.subject
})
app.addHook('onRequest', async (request) => {
  // @ts-expect-error a hook runs for every route: may be null
  request.log.info(request.auth.subject)
})

const issued: IssuedAccessToken = app.accessTokens.sign({ sub: 'user-1', scope: ['users:read'], tenant_id: 't1' })
const token: string = issued.token
const verified: Promise<WardenClaims> = app.accessTokens.verify(token)
const key: { key: string, prefix: string, digest: string } = app.apiKeys.issue()
app.setDefaultSecurity([])

// @ts-expect-error security is a list of requirements, not one
app.get('/wrong', { schema: { security: { oauth2: [] } } }, async () => 'x')
// @ts-expect-error scopes are strings
app.get('/wrong2', { schema: { security: [{ oauth2: [1] }] } }, async () => 'x')
// @ts-expect-error unknown core option
await app.register(warden, { scope: {} })
// @ts-expect-error issuer and audience are required
await app.register(oauth2Bearer, { secret: 'x'.repeat(32) })
// @ts-expect-error sub is required to sign
app.accessTokens.sign({ scope: 'users:read' })

export { verified, key }

// ---------------------------------------------------------------------------------------------
// The rest of the public surface: every name the entry points export is used here at least once
// (test/types/public-surface.test.ts checks that), with the misuse each is meant to refuse.
// ---------------------------------------------------------------------------------------------
declare const request: FastifyRequest
declare const reply: FastifyReply

// The core's options, requirements and a custom scheme.
const core: typeof W.default = W.warden
const coreOptions: W.WardenOptions = { scopes: { 'a:read': 'Read a' }, realm: 'api', errorHandler: true }
const requirement: W.SecurityRequirement = { oauth2: ['a:read'] }
const kind: W.ChallengeKind = 'insufficient_scope'
const custom: W.SecurityScheme = {
  name: 'custom',
  openapi: { type: 'http', scheme: 'custom' },
  scopes: new Set(['a:read']),
  challenge: () => 'Custom',
  authenticate: (req): W.AuthOutcome => req.headers['x-custom'] === undefined ? null : W.INVALID_CREDENTIALS,
  // A route's demands reach a scheme that takes them; its own refusal carries its challenge.
  forRoute: (demands: W.RouteDemands): W.SecurityScheme => ({
    ...custom,
    authenticate: () => new W.CredentialRefusal(`Custom dpop="${demands.dpop satisfies W.DpopMode | undefined ?? 'off'}"`, 'Try again.', { 'x-hint': '1' })
  })
}
// @ts-expect-error INVALID_CREDENTIALS is a unique symbol: no other symbol stands for it
const notRefusal: W.AuthOutcome = Symbol('invalid')
const user: W.WardenUser = {}
const claims: W.WardenClaims = { sub: 'u' }

// oauth2Bearer: options, keys, signing and a caught refusal.
const bearerOptions: W.OAuth2BearerOptions = {
  secret: 'x'.repeat(32), issuer: 'i', audience: 'a', algorithms: ['HS256'], verificationKeys: []
}
const algorithm: W.Algorithm = W.ALGORITHMS[0]
// @ts-expect-error `none` is never an algorithm
const noAlgorithm: W.Algorithm = 'none'
const jwk: W.Jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }
bearerOptions.verificationKeys?.push({ kid: 'k2', publicKey: jwk })
// @ts-expect-error a JWK's members are strings
const badJwk: W.Jwk = { kty: 1 }
const signable: W.SignableClaims = { sub: 'u', scope: ['a:read'] }
// @ts-expect-error scope is a string or a list of strings
const ownedClaim: W.SignableClaims = { sub: 'u', scope: 1 }
try { await app.accessTokens.verify('t') } catch (err) {
  if (err instanceof W.InvalidToken) {
    const why: string = err.reason
    const claim: string | undefined = err.claim
    const code: 'WARDEN_ERR_INVALID_TOKEN' = err.code
    request.log.info({ why, claim, code, kind: err.kind })
  }
}
// DPoP: the scheme's options, a replay cache of the app's own or the memory one, a refused proof.
const ownReplay: W.DpopReplayCache = { firstUse: async () => true }
const memoryReplay: W.DpopReplayCache = W.memoryDpopReplay({ max: 1000 } satisfies W.MemoryDpopReplayOptions)
const nonce: W.DpopNonceOptions = { secret: 'n'.repeat(32), lifetime: 300 }
const dpop: W.DpopOptions = { mode: 'allowed', algorithms: ['ES256', 'EdDSA'], proofLifetime: 60, replay: ownReplay, nonce }
bearerOptions.dpop = dpop
bearerOptions.dpop = { replay: memoryReplay }
// @ts-expect-error the mode is one of required, allowed, off
const badMode: W.DpopOptions = { mode: 'sometimes' }
const refusedProof = new W.InvalidDpopProof('nonce missing', 'use_dpop_nonce')
const proofError: 'invalid_dpop_proof' | 'use_dpop_nonce' = refusedProof.error
// What issueTokens throws for a request's DPoP proof at fault, for an app's own login route.
try { await app.oauth2Server.issueTokens({ subject: 'u', scopes: [] }, request, { dpop: true }) } catch (err) {
  if (err instanceof W.OAuthFailure) request.log.info({ error: err.error, headers: err.headers, status: err.status })
}

// An MCP endpoint: per-tool scopes demanded once the body is read, the reply handed to the SDK's
// transport with the hooks' headers, request.auth as the SDK's AuthInfo.
app.post<{ Body: { method: string, params?: { name?: string } } }>(
  '/mcp',
  { schema: { security: [{ oauth2: [] }], 'x-scope-demands': { write_file: ['users:read'] } } },
  async (request, reply) => {
    try {
      request.demandScopes(request.body.params?.name ?? '')
    } catch (err) {
      if (err instanceof W.ScopeDemandRefused) request.log.info({ status: err.statusCode, challenge: err.headers['www-authenticate'] })
      throw err
    }
    const info: W.McpAuthInfo | undefined = W.mcpAuthInfo(request)
    const expiresAt: number | undefined = info?.expiresAt
    const same: FastifyReply = W.hijackWithHeaders(reply)
    same.raw.end(JSON.stringify({ expiresAt, clientId: info?.clientId }))
  }
)
// @ts-expect-error a demand names its scopes in a list
app.get('/bad-demands', { schema: { 'x-scope-demands': { write: 'users:read' } } }, async () => 'x')

// apiKey and basicAuth.
const generated: { key: string, prefix: string } = W.generateApiKey()
// The key's format, for the schemas of an app's own routes.
const keyFormat: { pattern: string, length: number, prefix: string, prefixLength: number } = {
  pattern: W.API_KEY_PATTERN, length: W.API_KEY_LENGTH, prefix: W.API_KEY_PREFIX_PATTERN, prefixLength: W.API_KEY_PREFIX_LENGTH
}
const staticKey: W.StaticApiKey = { id: 'ci', key: generated.key, subject: 'ci', scopes: ['a:read'] }
if (!new RegExp(keyFormat.pattern).test(generated.key) || generated.key.length !== keyFormat.length) throw new Error('format')
const keyOptions: W.ApiKeyOptions = { secret: 'x'.repeat(32), keys: [staticKey] }
const keyRecord: W.ApiKeyRecord = { id: '1', digest: 'd', subject: 's', scopes: [], expiresAt: null }
// @ts-expect-error expiry is seconds since the epoch, not a Date
const dateExpiry: W.ApiKeyRecord = { id: '1', digest: 'd', subject: 's', scopes: [], expiresAt: new Date() }
const basicUser: W.BasicAuthUser = { subject: 'u', scopes: ['a:read'], user }
const basicOptions: W.BasicAuthOptions = { verify: async () => basicUser }

// The token endpoint, logins and the store contracts.
const grant: W.UserGrant = { subject: 'u', scopes: ['a:read'], credential: 1 }
const verifyUser: W.VerifyUser = async (username) => username === 'u' ? grant : null
const policy: W.AttemptPolicy = { threshold: 5, baseDelay: 1000, maxDelay: 60_000, memory: 3_600_000 }
const attempts: W.LoginAttempts = W.memoryLoginAttempts()
const reservation: W.Reservation = await attempts.reserve('u', policy)
if (reservation.granted) {
  const lock: number = reservation.lock
  // @ts-expect-error only a refused reservation says when to retry
  request.log.info({ lock, retry: reservation.retryAfter })
}
const loginOptions: W.PasswordLoginOptions = { verifyUser, scopes: ['a:read'], attempts, lockout: policy }
const login: W.PasswordLogin = W.passwordLogin(loginOptions)
await login.unlock(W.canonicalUsername('Ada'))
const family: W.RefreshFamily = {
  familyId: 'f', subject: 'u', scope: 'a:read', clientId: 'c', credential: 1, authTime: 1_800_000_000, acr: 'urn:example:mfa', jkt: null
}
const presented: W.PresentedToken = { ...family, rotatedAt: null, successorKey: null }
const rotation: W.Rotation = { outcome: 'reused', familyId: 'f', subject: 'u' }
// @ts-expect-error a rotation's outcome is one of four
const badRotation: W.Rotation = { outcome: 'unknown' }
const revocation: W.Revocation = { kind: 'jti', id: 'j', expiresAt: 0 }
declare const refreshTokens: W.RefreshTokenStore
declare const revocations: W.RevocationSink
const sessions: W.SessionStore = { refreshTokens, revocations }
const client: W.OAuth2Client = { secret: 'a client secret!', scopes: ['a:read'] }
const serverOptions: W.OAuth2ServerOptions = { verifyUser, sessions, clients: { c: client }, loginAttempts: attempts }
await app.register(W.oauth2Server, serverOptions)

// DPoP proofs remembered in Redis: an ioredis Redis or Cluster fits the one command it uses.
declare const replayNode: Redis
declare const replayCluster: Cluster
const replayOptions: RedisDpopReplayOptions = { prefix: 'app:dpop:' }
const replayClient: DpopReplayRedis = replayCluster
const replay = [redisDpopReplay(replayNode, replayOptions), redisDpopReplay(replayClient)]
const firstUse: boolean | Promise<boolean> = replay[0].firstUse('key', Date.now() + 60_000)
// @ts-expect-error the prefix is a string
redisDpopReplay(replayNode, { prefix: 1 })
// @ts-expect-error a client without SET is no client
redisDpopReplay({ get: async () => null })
// Roles instead of scopes: the verifier names them, the option gives their scopes.
const byRole: W.VerifiedUser = { subject: 'u', roles: ['reader'], credential: 1 }
const verifyByRole: W.VerifyUser = async () => byRole
const roleOptions: W.OAuth2ServerOptions = { verifyUser: verifyByRole, roles: { reader: ['a:read'] } }
// Step-up (RFC 9470): the verifier reports the acr it decided; the time of the login is the library's.
const afterSecondFactor: W.VerifiedUser = { subject: 'u', scopes: ['a:read'], acr: 'urn:example:mfa' }
// @ts-expect-error auth_time is when login() verified the credentials, not the verifier's to say
const timedByVerifier: W.VerifiedUser = { subject: 'u', authTime: 1_800_000_000 }
// @ts-expect-error roles are a list of names
const badRoles: W.VerifiedUser = { subject: 'u', roles: 'reader' }
// @ts-expect-error a role's scopes are a list
const badRoleOption: W.OAuth2ServerOptions = { verifyUser, roles: { reader: 'a:read' } }
// The token endpoint's answer, for an app's own login route.
const tokenServer: W.OAuth2Server = app.oauth2Server
const loggedIn: W.UserGrant | null = await tokenServer.login('u', 'password', request)
const issueOptions: W.IssueTokensOptions = { scopes: ['a:read'], clientId: 'c' }
const tokenPair: W.TokenResponse | undefined = loggedIn === null
  ? undefined
  : await tokenServer.issueTokens(loggedIn, request, issueOptions)
if (tokenPair !== undefined) {
  const pair: { access: string, refresh: string | undefined, type: 'Bearer' | 'DPoP' } = {
    access: tokenPair.access_token, refresh: tokenPair.refresh_token, type: tokenPair.token_type
  }
  request.log.info(pair)
}
// @ts-expect-error a grant from login has its scopes resolved: a verifier's answer is not one
await tokenServer.issueTokens(byRole, request)
// @ts-expect-error the scopes asked for are a list
const badIssue: W.IssueTokensOptions = { scopes: 'a:read' }
const hasherOptions: W.PasswordHasherOptions = { isolate: false, concurrency: 2 }
const hasher: W.PasswordHasher = W.createPasswordHasher(hasherOptions)
const valid: Promise<boolean> = hasher.verify(null, 'password')

// The document and its contract test.
const openApiOptions: W.OpenApiOptions = { info: { title: 'T', version: '1' } }
const contractOptions: W.ContractOptions = { credentials: { apiKey: () => ({ 'x-api-key': generated.key }) } }
const findings: W.ContractFinding[] = await W.checkSecurityContract(app, contractOptions)

// Hardening, and the same checks on an app's own configuration.
const corsOptions: W.CorsOptions = { origins: ['https://app.example'], environment: 'production' }
// @ts-expect-error environments are named
const badCors: W.CorsOptions = { origins: [], environment: 'prod' }
const headersOptions: W.SecurityHeadersOptions = { hstsMaxAge: 31_536_000 }
const hostsOptions: W.TrustedHostsOptions = { hosts: ['api.example'] }
const rateOptions: W.RateLimitOptions = { max: 100, timeWindow: 60_000 }
const routeRate: W.RouteRateLimit = { max: 5, skipOnError: false }
const logger = { redact: [...W.REDACT_PATHS], serializers: W.logSerializers }
const server = Fastify({ ...W.secureServerOptions(), ...W.requestIdOptions(), logger })
await server.register(W.cors, corsOptions)
await server.register(W.securityHeaders, headersOptions)
await server.register(W.trustedHosts, hostsOptions)
await server.register(W.rateLimit, rateOptions)
await server.register(W.requestId)
const configChecks: boolean[] = [W.isOrigin('https://app.example'), W.isHostEntry('api.example')]
const secretProblem: string | undefined = W.secretFault('short')
// @ts-expect-error secureServerOptions takes no options: it is the secure set, whole
W.secureServerOptions({ bodyLimit: 1 })

// Replies, logs and errors.
const body: W.Problem = W.problem(404, 'No such note.')
const fields: W.FieldError[] = [{ in: 'body', field: '/name', message: 'must not be empty' }]
W.sendProblem(reply, 400, W.invalidFields(fields))
const event: W.SecurityEvent = 'auth.login.failed'
W.securityEvent(request, event, { subject: 'u' })
// The app's own events: any lower-case dotted name.
const own: W.AppSecurityEvent = 'user.created'
W.securityEvent(request, own, { id: 'u' })
// @ts-expect-error the library's vocabulary is closed
const mine: W.SecurityEvent = 'user.created'
W.securityEvent(request, mine, {})
// @ts-expect-error an app event is a dotted lower-case name
W.securityEvent(request, 'UserCreated')
const headers = W.redactHeaders({ authorization: 'Bearer x' })
const redis = new W.Availability('Redis', server.log)
const code: W.WardenErrorCode = 'WARDEN_ERR_UNSAFE_PATH'
// @ts-expect-error codes are the list's own
const noCode: W.WardenErrorCode = 'WARDEN_ERR_NOPE'
declare const caught: W.Throttled
const retryAfter: number = caught.retryAfter
const optionError: 'WARDEN_ERR_OPTION' = new W.errors.WARDEN_ERR_OPTION('x', 'is wrong').code

// fastify-warden/schemas.
const ajvPlugins = [S.inputKeywords]
const schema = {
  id: S.Identifier(),
  text: S.SafeText({ maxLength: 100 }),
  count: S.Integer({ minimum: 0, maximum: 10 }),
  page: S.QueryInteger({ minimum: 1 }),
  price: S.Money({ scale: 2 }),
  at: S.Timestamp(),
  tags: S.StringMap({ maxKeys: 5, maxValueLength: 20 }),
  email: S.NormalizedEmail(),
  notes: S.RichText({ maxLength: 1000 })
}
// @ts-expect-error free text is always bounded
S.SafeText({})
const patterns: string[] = [S.PLAIN_TEXT, S.NO_CONTROL, S.sanitizeRichText('<b>x</b>')]
const policyOf = S.RICH_TEXT_POLICY
try { await S.safePath('/srv', 'a.txt') } catch (err) {
  if (err instanceof S.UnsafePathError) {
    const status: 400 | 404 = err.status
    const pathCode: 'WARDEN_ERR_UNSAFE_PATH' = err.code
    request.log.info({ status, pathCode })
  }
}

export {
  core, coreOptions, requirement, kind, custom, notRefusal, claims, bearerOptions, algorithm, noAlgorithm, jwk, signable,
  ownedClaim, keyOptions, keyRecord, dateExpiry, basicOptions, presented, rotation, badRotation, revocation, valid,
  openApiOptions, findings, badCors, routeRate, configChecks, secretProblem, badJwk, body, headers, redis, code, noCode,
  retryAfter, optionError, firstUse, badMode, proofError, ajvPlugins, schema, patterns, policyOf, server, roleOptions, badRoles, badRoleOption, badIssue,
  afterSecondFactor, timedByVerifier
}
