import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import underPressure from '@fastify/under-pressure'
import { createHash, createPublicKey, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import warden, {
  REDACT_PATHS, redactHeaders, problem, sendProblem, apiKey, logSerializers, basicAuth, cors,
  createPasswordHasher, memoryLoginAttempts, oauth2Bearer, oauth2Server, openapi, passwordLogin, rateLimit,
  requestId, secureServerOptions, securityHeaders, trustedHosts, type AttemptPolicy, type LoginAttempts,
  type PasswordLogin, type OAuth2BearerOptions, type OAuth2Client, type PasswordHasher, Availability
} from '../plugins/index.js'
import { redisDpopReplay, redisLoginAttempts } from '../stores/index.js'
import type { Config } from './config.js'
import { storeCallbacks, type Stores } from './stores.js'
import { createFirstUser } from './users.js'
import { createRedis, type RedisClient } from './redis.js'
import { ROLE_SCOPES, SCOPES } from './schemas/scopes.js'
import { inputKeywords } from '../schemas/index.js'
import userRoutes from '../routes/users.js'
import apiKeyRoutes from '../routes/api-keys.js'
import healthRoutes from '../routes/health.js'
import loginRoute from '../routes/login.js'

// app.ts runs from the repository (tests, tsx) and from dist/ (npm start).
const packageFile = new URL(import.meta.url.includes('/dist/') ? '../../package.json' : '../package.json', import.meta.url)
const pkg = JSON.parse(readFileSync(packageFile, 'utf8')) as { version: string }

export interface AppOptions {
  config: Config
  /** Opened stores; the app closes them when it closes. */
  stores: Stores
  /**
   * The app's one Redis client (the stores' too), connected; the caller closes it. Default: one
   * made from `config.redis` for the limits and the lockout, closed with the app.
   */
  redis?: RedisClient
  /** Default: argon2id with OWASP parameters. Tests pass cheaper ones. */
  passwords?: PasswordHasher
  logger?: FastifyServerOptions['logger']
  /** Confidential OAuth2 clients of the token endpoint. */
  clients?: Record<string, OAuth2Client>
  /** Where failed logins are counted. Default: Redis when configured, else memory. */
  loginAttempts?: LoginAttempts
  /** The account lockout. Default: 5 failures, then 30 s doubling up to 15 min. */
  lockout?: Partial<AttemptPolicy> | false
  /** Prefix of the rate-limit keys in Redis (tests isolate themselves with it). */
  rateLimitNamespace?: string
  /** Load-shedding limits (tests make them tiny). Default: 1 s of event-loop delay. */
  pressure?: { maxEventLoopDelay?: number, sampleInterval?: number }
  /** Told the bootstrap admin's password when it was generated (print it once). */
  onAdminCreated?: (username: string, generatedPassword: string | undefined) => void
  /** Clock of tokens, sessions and DPoP proofs, ms since the epoch (tests move it on). Default `Date.now`. */
  now?: () => number
}

function createServer (config: Config, logger: AppOptions['logger']): FastifyInstance {
  return Fastify({
    // Request ids, no coercion of JSON bodies, prototype-poisoning refusals, problem+json for
    // malformed URLs and during close().
    ...secureServerOptions(),
    // Request headers are logged (they help to trace a client), credentials among them redacted.
    logger: logger ?? {
      level: config.logLevel,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { req: (req) => ({ ...logSerializers.req(req), headers: redactHeaders(req.headers) }) }
    },
    // No request body of this API comes near 64 KiB; larger ones are a 413 before any parsing.
    bodyLimit: 65_536,
    // A hop count trusts that many proxies in front of this server.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Unknown fields are refused (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false }, plugins: [inputKeywords] }
  }).withTypeProvider<TypeBoxTypeProvider>()
}

/**
 * Counters in Redis when configured, so every instance counts the same requests. The client
 * fails fast (redis.ts): each route then fails open or closed as it says. An outage is one log
 * line when it starts and one when it ends, whatever the number of reconnection attempts.
 */
async function appRedis (app: FastifyInstance, options: AppOptions): Promise<RedisClient | undefined> {
  const redis = options.redis ?? (options.config.redis === undefined ? undefined : createRedis(options.config.redis))
  if (redis === undefined) return undefined
  const availability = new Availability('Redis', app.log)
  redis.on('error', (err: Error) => { availability.failed(err) })
  redis.on('ready', () => { availability.succeeded() })
  if (options.redis === undefined) {
    // Made here, for tests and embedders: a Redis down at start is waited for by its client.
    await redis.connect().catch(() => {})
    app.addHook('onClose', async () => { redis.disconnect() })
  }
  return redis
}

/** What every answer gets: request ids, hosts, security headers, CORS, load shedding, the core, limits. */
async function registerHardening (app: FastifyInstance, options: AppOptions, redis: RedisClient | undefined): Promise<void> {
  const { config } = options
  await app.register(requestId)
  // Off in development when ALLOWED_HOSTS is unset; production refuses to start without it.
  if (config.allowedHosts.length > 0) await app.register(trustedHosts, { hosts: config.allowedHosts })
  await app.register(securityHeaders)
  // '*' passes the configuration only in development, and then without credentials.
  await app.register(cors, { origins: config.allowedOrigins, environment: config.environment, credentials: !config.allowedOrigins.includes('*') })
  // Load shedding for the whole server: past these the answer is a 503 with Retry-After, cheap,
  // so an overloaded server recovers instead of queueing work it cannot do.
  await app.register(underPressure, {
    maxEventLoopDelay: options.pressure?.maxEventLoopDelay ?? 1_000,
    ...(options.pressure?.sampleInterval === undefined ? {} : { sampleInterval: options.pressure.sampleInterval }),
    retryAfter: 1,
    pressureHandler: (_request, reply, type) => {
      reply.header('retry-after', 1)
      void sendProblem(reply, 503, problem(503, `The server is overloaded (${type}); try again shortly.`))
    }
  })
  // The core first: its 401/403 responses are in place when the limit headers are documented.
  await app.register(warden, { scopes: SCOPES, realm: 'fastify-warden' })
  const sharedLimits = redis === undefined ? {} : { redis, nameSpace: options.rateLimitNamespace ?? 'fastify-warden-rl:' }
  await app.register(rateLimit, { ...config.rateLimit, ...sharedLimits })
}

async function registerDocs (app: FastifyInstance, config: Config): Promise<void> {
  await app.register(openapi, {
    // The API is meant for clients outside this network (OWASP API9: the audience is declared).
    servers: [{ url: config.publicUrl, description: `The ${config.environment} deployment (PUBLIC_URL)`, 'x-internal': false } as { url: string }],
    info: {
      title: 'fastify-warden reference app',
      version: pkg.version,
      description: 'The reference app of fastify-warden: OAuth2 password flow with rotating refresh tokens, API keys and HTTP Basic, ' +
        'every route secured by its OpenAPI security requirement.'
    },
    tags: [
      { name: 'auth', description: 'Tokens (RFC 6749, RFC 7009)' },
      { name: 'users', description: 'User accounts' },
      { name: 'api-keys', description: "The caller's API keys" },
      { name: 'health', description: 'Liveness' }
    ]
  })
}

/** Own keys sign this service's tokens; with a provider, its keys verify the tokens it issues. */
function bearerKeys ({ jwt }: Config): Pick<OAuth2BearerOptions, 'secret' | 'signingKey' | 'verificationKeys' | 'algorithm' | 'discovery' | 'jwksUrl'> {
  if (jwt.provider !== undefined) return jwt.provider.jwksUrl === undefined ? { discovery: true } : { jwksUrl: jwt.provider.jwksUrl }
  if (jwt.secret !== undefined) return { secret: jwt.secret }
  return {
    // JWT_ALGORITHM must fit the key: the plugin refuses to start otherwise, naming both.
    algorithm: jwt.algorithm,
    signingKey: { kid: thumbprint(jwt.privateKey!), privateKey: jwt.privateKey! },
    verificationKeys: jwt.publicKeys.map((publicKey) => ({ kid: thumbprint(publicKey), publicKey }))
  }
}

/**
 * DPoP (RFC 9449) allowed on every route: a client that binds its tokens to a key proves it holds
 * the key with each request, so a stolen token is no use alone; bearer clients go on as before.
 * Proofs are used once across instances in Redis when the app has it (Redis down: DPoP requests
 * get a 503, never a replay let through), else in this process's memory.
 */
function dpopOptions ({ config, rateLimitNamespace }: AppOptions, redis: RedisClient | undefined): OAuth2BearerOptions['dpop'] {
  return {
    mode: 'allowed',
    ...(redis === undefined ? {} : { replay: redisDpopReplay(redis, { prefix: `${rateLimitNamespace ?? 'fastify-warden'}:dpop:` }) }),
    // Every instance makes and accepts the same nonces from the shared secret.
    ...(config.dpopNonceSecret === undefined ? {} : { nonce: { secret: config.dpopNonceSecret } })
  }
}

/** The three schemes and the token endpoint, on the reference stores; one login, lockout and address budget for the endpoint and Basic. */
async function registerSchemes (
  app: FastifyInstance,
  options: AppOptions,
  passwords: PasswordHasher,
  attempts: LoginAttempts,
  redis: RedisClient | undefined
): Promise<PasswordLogin> {
  const { config, stores } = options
  const { jwt } = config
  const callbacks = storeCallbacks(stores, passwords)
  const lockout = options.lockout ?? {}
  const clock = options.now === undefined ? {} : { now: options.now }
  await app.register(oauth2Bearer, {
    ...bearerKeys(config),
    issuer: jwt.issuer,
    audience: jwt.audience,
    expiresIn: jwt.accessTokenTtl,
    tokenUrl: '/auth/token',
    // RFC 9728: this API's own identifier is its public URL; the audience may be any string (a client id such as account).
    resourceMetadata: { resource: config.publicUrl, authorizationServers: [jwt.issuer] },
    isRevoked: (claims) => stores.revocations.isRevoked(claims),
    cache: { max: 10_000 },
    dpop: dpopOptions(options, redis),
    ...clock
  })
  await app.register(apiKey, {
    secret: config.apiKeySecret,
    keys: config.apiKeys.map((k, i) => ({ id: `static-${i + 1}`, key: k.key, subject: `service:static-${i + 1}`, scopes: k.scopes })),
    cache: { max: 10_000, ttl: 30 },
    lookup: callbacks.lookup,
    resolveUser: callbacks.keyOwner,
    onUse: (record) => { if (!record.id.startsWith('static-')) stores.apiKeyUsage.record(record.id) }
  })
  // With a provider, tokens and sessions are the provider's.
  if (jwt.provider === undefined) {
    await app.register(oauth2Server, {
      verifyUser: callbacks.verifyUser,
      // The verifier answers the user's role; the token gets the role's scopes.
      roles: ROLE_SCOPES,
      // A refresh never grants more than the role allows today, and ends with a disabled account.
      findSubject: callbacks.findSubject,
      sessions: stores,
      clients: options.clients ?? {},
      refreshTokenTtl: jwt.refreshTokenTtl,
      reuseInterval: jwt.refreshReuseInterval,
      loginAttempts: attempts,
      lockout,
      rateLimit: config.loginRateLimit,
      ...clock
    })
  }
  // Basic shares the token endpoint's login: one lockout and one address budget for both.
  const login = jwt.provider === undefined
    ? app.oauth2Server.login
    : passwordLogin({
      verifyUser: callbacks.verifyUser,
      scopes: Object.keys(SCOPES),
      roles: ROLE_SCOPES,
      attempts,
      lockout,
      addressLimit: config.loginRateLimit
    })
  await app.register(basicAuth, {
    async verify (username, password, request) {
      const grant = await login(username, password, request)
      return grant === null ? null : { subject: grant.subject, scopes: grant.scopes, user: { username } }
    }
  })
  return login
}

/** The reference app: every plugin, on the given stores. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config, stores } = options
  // Hashing in a process of its own at the lowest CPU priority: a login storm takes only the CPU
  // the other routes leave (README, "Login storm").
  const passwords = options.passwords ?? createPasswordHasher({ isolate: true })
  const app = createServer(config, options.logger)
  app.addHook('onClose', async () => {
    if (options.passwords === undefined) await passwords.close()
    await stores.close()
  })
  // Another instance revoked a key: drop it from this one's verified-key cache at once.
  stores.revocations.onApiKeyRevoked((prefix) => { app.apiKeys.forget(prefix) })
  stores.db.watch?.(new Availability('database', app.log))
  const redis = await appRedis(app, options)
  await registerHardening(app, options, redis)
  await registerDocs(app, config)
  const attempts = options.loginAttempts ??
    (redis === undefined ? memoryLoginAttempts() : redisLoginAttempts(redis, { namespace: options.rateLimitNamespace ?? 'fastify-warden' }))
  const login = await registerSchemes(app, options, passwords, attempts, redis)
  // With a provider, sessions are the provider's: nothing of ours to end.
  const endSessions = config.jwt.provider === undefined ? app.oauth2Server.endSessions : async () => 0
  await app.register(healthRoutes, { stores, passwords })
  await app.register(userRoutes, { stores, passwords, login, endSessions, unlock: login.unlock })
  await app.register(apiKeyRoutes, { stores })
  // The JSON login: the token endpoint's, so not with a provider's tokens.
  if (config.jwt.provider === undefined) await app.register(loginRoute, { rateLimit: config.loginRateLimit })

  app.addHook('onReady', async () => {
    if (await stores.users.count() > 0) return
    const password = config.admin.password ?? randomPassword()
    // Several instances may start together on an empty database: one creates the administrator.
    const { username } = config.admin
    const admin = await createFirstUser(stores.db, { username, email: `${username}@localhost`, passwordHash: await passwords.hash(password), role: 'admin' })
    if (admin !== null) options.onAdminCreated?.(config.admin.username, config.admin.password === undefined ? password : undefined)
  })
  return app
}

/** RFC 7638 thumbprint of a key's public JWK: a stable `kid` without configuration. */
function thumbprint (pem: string): string {
  const jwk = createPublicKey(pem).export({ format: 'jwk' }) as Record<string, string>
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x']
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))
  return createHash('sha256').update(canonical).digest('base64url')
}

/** 20 random bytes, base64url: 27 characters, for a generated admin password. */
function randomPassword (): string {
  return randomBytes(20).toString('base64url')
}

function trustHops (hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}
