import type { FastifyContextConfig, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import fastifyRateLimit from '@fastify/rate-limit'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import { errors } from '../errors.js'
import { integerOption } from '../core/option-checks.js'
import { problem, sendProblem } from '../core/problem.js'
import { addProblemSchema, isPublicRequirement, problemContent, routeResponses } from '../core/responses.js'
import { securityEvent } from '../core/events.js'
import { routeName } from '../core/route-table.js'
import { addressGroup } from '../core/address.js'
import { dependency, type Dependency } from '../core/dependency.js'
import { redisCounters, type CounterRedis } from './rate-limit-counters.js'

export interface Limit {
  max: number
  /** Milliseconds. */
  timeWindow: number
}

export interface RateLimitOptions extends Limit {
  /**
   * The limit per authenticated principal (user or API key), counted after authentication, on
   * top of the per-address one. Default: the same as `max`/`timeWindow`; `false` for none.
   */
  principal?: Limit | false
  /**
   * Share the counters between instances: an ioredis `Redis` or `Cluster` the app made, with
   * `enableOfflineQueue: false` (so a request never waits for a Redis that is down). Keys are
   * `{nameSpace}ip:{address}`, `{nameSpace}principal:{scheme}:{id}` (a token's
   * `principal:{scheme}:{issuer, URI-encoded}:{sub}`), `{nameSpace}route:{METHOD /path}:…`, one
   * key per call (any Cluster slot).
   */
  redis?: CounterRedis
  /** Prefix of the Redis keys. Default `fastify-warden-rl:`. */
  nameSpace?: string
  /**
   * When the counters cannot be reached (Redis down): `true` lets requests through uncounted,
   * `false` answers 503 with Retry-After. Routes may say otherwise (`skipOnError`). The outage is
   * logged once when it starts and once when it ends, never per request. Default `true`: a rate
   * limit guards capacity, and a Redis outage should not become an outage of every route. Logins
   * are bounded apart from it, by the lockout's own counts.
   */
  failOpen?: boolean
}

/**
 * Per-route settings, as `config: { rateLimit: { max, timeWindow, skipOnError } }` (the key and
 * the names of @fastify/rate-limit), or `false` for none. `skipOnError: false` fails closed when
 * the counters cannot be reached. Any other setting stops the app at start-up.
 */
export interface RouteRateLimit extends Partial<Limit> {
  skipOnError?: boolean
}
const ROUTE_SETTINGS: ReadonlySet<string> = new Set(['max', 'timeWindow', 'skipOnError'])

function routeLimit (name: string, config: unknown, fallback: Limit, failOpen: boolean): { limit: Limit; failOpen: boolean } {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new errors.WARDEN_ERR_OPTION(`${name} config.rateLimit`, 'must be { max, timeWindow, skipOnError } or false')
  }
  const unknown = Object.keys(config).find((k) => !ROUTE_SETTINGS.has(k))
  if (unknown !== undefined) {
    throw new errors.WARDEN_ERR_OPTION(
      `${name} config.rateLimit.${unknown}`,
      "is not a setting of fastify-warden's rateLimit (max, timeWindow in ms, skipOnError)"
    )
  }
  const { skipOnError, ...limit } = config as RouteRateLimit
  if (skipOnError !== undefined && typeof skipOnError !== 'boolean') {
    throw new errors.WARDEN_ERR_OPTION(`${name} config.rateLimit.skipOnError`, 'must be a boolean')
  }
  return { limit: limitOption(`${name} config.rateLimit`, limit, fallback), failOpen: skipOnError ?? failOpen }
}

interface Limiter {
  check: (request: FastifyRequest) => Promise<{ isAllowed: boolean; max?: number; remaining?: number; ttlInSeconds?: number; isExceeded?: boolean }>
  failOpen: boolean
  /** The counters' store, as requests meet it. */
  store: Dependency
}

const COUNT = { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 } as const
/** The headers every answer of a limited route carries (RFC 6585 and the X-RateLimit convention). */
const LIMIT_HEADERS = {
  'X-RateLimit-Limit': { ...COUNT, description: 'Requests allowed in the window' },
  'X-RateLimit-Remaining': { ...COUNT, description: 'Requests left in the window' },
  'X-RateLimit-Reset': { ...COUNT, description: 'Seconds until the window resets' }
}
const RESPONSE_429 = {
  description: 'Too many requests',
  headers: { ...LIMIT_HEADERS, 'Retry-After': { ...COUNT, description: 'Seconds until the limit resets' } },
  content: problemContent
}

/** Document the limit headers on every 2xx and 4xx answer of a route (they are sent on all of them). */
function withLimitHeaders (responses: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [status, response] of Object.entries(responses)) {
    const documented = response !== null && typeof response === 'object' && /^[24]/.test(status)
    out[status] = documented ? { ...response, headers: { ...LIMIT_HEADERS, ...(response as { headers?: object }).headers } } : response
  }
  return out
}

function limitOption (name: string, value: Partial<Limit> | undefined, fallback: Limit): Limit {
  return {
    max: integerOption(`${name}.max`, value?.max, fallback.max, 1, 10_000_000),
    timeWindow: integerOption(`${name}.timeWindow`, value?.timeWindow, fallback.timeWindow, 1000, 86_400_000)
  }
}

// The route's limits (or null for none) ride on its config, which Fastify copies into
// request.routeOptions.config: one property read per request instead of a lookup by route name.
const kLimits = Symbol('fastify-warden.rate-limits')
interface Limits {
  /** Before authentication, by client address. */
  before: Limiter
  /** Right after authentication, by principal (by address for an anonymous caller). */
  after: Limiter | undefined
}
type LimitedConfig = FastifyContextConfig & { [kLimits]?: Limits | null }

async function apply (limit: Limiter, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  let result: Awaited<ReturnType<Limiter['check']>>
  try {
    result = await limit.check(request)
  } catch (err) {
    limit.store.failed(err)
    if (limit.failOpen) return undefined
    reply.header('retry-after', 1)
    return await sendProblem(reply, 503, problem(503, 'The service cannot check its rate limits right now; try again shortly.'))
  }
  limit.store.succeeded()
  if (result.isAllowed) return undefined
  // Set by each limit that runs: the answer reports the last, most specific one.
  reply.header('x-ratelimit-limit', result.max)
  reply.header('x-ratelimit-remaining', result.remaining)
  reply.header('x-ratelimit-reset', result.ttlInSeconds)
  if (result.isExceeded !== true) return undefined
  reply.header('retry-after', result.ttlInSeconds)
  securityEvent(request, 'ratelimit.exceeded', { route: request.routeOptions.url, limit: result.max })
  return await sendProblem(reply, 429, problem(429, `Too many requests; retry in ${result.ttlInSeconds} seconds.`))
}

/** Appended to the route's own onRequest hooks, so it runs right after the core's authentication. */
async function afterAuthentication (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const after = (request.routeOptions.config as LimitedConfig)[kLimits]?.after
  return after === undefined ? undefined : await apply(after, request, reply)
}

/**
 * @fastify/rate-limit lives in a child context: its own route hooks never run, we only use its
 * counters (createRateLimit), so the address limit can run before authentication.
 */
async function counters (
  fastify: FastifyInstance,
  opts: RateLimitOptions
): Promise<(limit: Limit, prefix: string, key: (request: FastifyRequest) => string, failOpen: boolean) => Limiter> {
  const redis = opts.redis
  if (redis !== undefined && (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function')) {
    throw new errors.WARDEN_ERR_OPTION('redis', 'must be an ioredis client (Redis or Cluster)')
  }
  if (opts.nameSpace !== undefined && typeof opts.nameSpace !== 'string') throw new errors.WARDEN_ERR_OPTION('nameSpace', 'must be a string')
  const store = dependency(redis === undefined ? 'rate-limit store' : 'Redis (rate limits)', fastify.log)
  let create: ((options: object) => Limiter['check']) | undefined
  await fastify.register(async (child) => {
    await child.register(fastifyRateLimit, {
      global: false,
      skipOnError: false,
      ...(redis === undefined ? {} : ({ store: redisCounters(redis, opts.nameSpace ?? 'fastify-warden-rl:') } as unknown as RateLimitPluginOptions))
    })
    create = (options) => child.createRateLimit(options) as unknown as Limiter['check']
  })
  return (limit, prefix, key, failOpen) => ({ check: create!({ ...limit, keyGenerator: (request: FastifyRequest) => prefix + key(request) }), failOpen, store })
}

const byAddress = (request: FastifyRequest): string => 'ip:' + addressGroup(request.ip)
// Authenticated callers are counted as themselves (a user, or one API key), wherever they come from;
// a token's user within its issuer (`sub` is unique only there: one scheme may take several issuers).
// An anonymous caller is counted by address, apart from the address limit's own count.
function byPrincipal (request: FastifyRequest): string {
  const auth = request.auth
  if (auth === null) return 'anonymous:' + byAddress(request)
  const iss = auth.claims?.iss
  return `principal:${auth.scheme}:${typeof iss === 'string' ? encodeURIComponent(iss) + ':' : ''}${auth.apiKeyId ?? auth.subject}`
}

/**
 * Rate limits on @fastify/rate-limit's counters (memory, or Redis for several instances):
 * per client address before authentication (so failed logins and bad tokens count), per
 * principal after it, stricter per route where configured. The address is the socket's unless
 * Fastify's `trustProxy` names the proxies, so a made-up X-Forwarded-For opens no new bucket.
 */
const rateLimitPlugin: FastifyPluginAsync<RateLimitOptions> = async (fastify, opts) => {
  const global = limitOption('rateLimit', opts, { max: opts.max, timeWindow: opts.timeWindow })
  const principal = opts.principal === false ? undefined : limitOption('principal', opts.principal, global)
  if (opts.failOpen !== undefined && typeof opts.failOpen !== 'boolean') throw new errors.WARDEN_ERR_OPTION('failOpen', 'must be a boolean')
  const failOpen = opts.failOpen ?? true
  // The documented 429 refers to the problem schema.
  addProblemSchema(fastify)
  const limiter = await counters(fastify, opts)
  const addressLimiter = limiter(global, '', byAddress, failOpen)
  const principalLimiter = principal === undefined ? undefined : limiter(principal, '', byPrincipal, failOpen)

  fastify.addHook('onRoute', (route: RouteOptions) => {
    const name = routeName(route)
    const config = route.config?.rateLimit
    if (config === false) {
      route.config = { ...route.config, [kLimits]: null } as LimitedConfig
      return
    }
    const own = config === undefined ? undefined : routeLimit(name, config, global, failOpen)
    const security = route.schema?.security
    // Public routes count by address, their own limit in place of the global one. Authenticated
    // ones count the address before authentication, then the caller right after it, before the
    // body is read: their own limit, or the per-principal one.
    const limits: Limits =
      Array.isArray(security) && isPublicRequirement(security)
        ? { before: own === undefined ? addressLimiter : limiter(own.limit, `route:${name}:`, byAddress, own.failOpen), after: undefined }
        : { before: addressLimiter, after: own === undefined ? principalLimiter : limiter(own.limit, `route:${name}:`, byPrincipal, own.failOpen) }
    route.config = { ...route.config, [kLimits]: limits } as LimitedConfig
    if (limits.after !== undefined) {
      const existing = route.onRequest
      route.onRequest = [...((existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]) as onRequestHookHandler[]), afterAuthentication]
    }
    if (route.schema?.hide === true) return
    route.schema = { ...route.schema, response: withLimitHeaders({ ...routeResponses(route.schema), 429: RESPONSE_429 }) }
  })

  // Global hooks run before the route's own, so the address limit comes before authentication.
  fastify.addHook('onRequest', async (request, reply) => {
    const limits = (request.routeOptions.config as LimitedConfig)[kLimits]
    if (limits === null) return
    return await apply(limits?.before ?? addressLimiter, request, reply)
  })
}

/** Rate limits by client address and by principal, with 429 problem replies and documentation. */
export const rateLimit = fp(rateLimitPlugin, { fastify: '5.x', name: 'fastify-warden/rate-limit' })
export default rateLimit
