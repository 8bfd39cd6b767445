import type { Test } from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { warden, basicAuth, passwordLogin, rateLimit, type LoginAttempts } from '../../plugins/index.js'
import { redisLoginAttempts } from '../../stores/index.js'

export const RIGHT = 'ann password 1234'

export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

/** A user's app on one Redis client: Basic through `passwordLogin` on `redisLoginAttempts`, and `rateLimit` on the same client. */
export interface LoginApp {
  app: FastifyInstance
  /** Passwords the verifier checked so far. */
  checks: () => number
  /** Every line the app logged, parsed, but Fastify's two per request. */
  logs: LogLine[]
  /** GET /me over Basic as `ann`. */
  me: (password: string) => Promise<{ statusCode: number; headers: Record<string, unknown> }>
}

export interface LoginAppOptions {
  namespace: string
  /** The account lockout's threshold. Default 5. */
  threshold?: number
  /** The address limit (every route): per 60 s. Default 1000. */
  max?: number
  /** `redisLoginAttempts`' fallback. Default: its own. */
  fallback?: LoginAttempts | false
}

export const basic = (username: string, password: string): { authorization: string } => ({
  authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64')
})

/**
 * One instance of a user's app: GET /me (Basic), GET /open (public, the address limit), GET
 * /strict (public, its own limit of 3 a minute with `skipOnError: false`). The verifier takes
 * 20 ms, so checks started together overlap.
 */
export async function loginApp (t: Test, redis: Redis | Cluster, options: LoginAppOptions): Promise<LoginApp> {
  const logs: LogLine[] = []
  const keep = (line: LogLine): void => {
    if (line.msg !== 'incoming request' && line.msg !== 'request completed') logs.push(line)
  }
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) keep(JSON.parse(line) as LogLine)
      done()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  let checks = 0
  await app.register(warden, { scopes: { read: 'Read' } })
  await app.register(rateLimit, { max: options.max ?? 1000, timeWindow: 60_000, redis, nameSpace: `${options.namespace}-rl:` })
  const login = passwordLogin({
    scopes: ['read'],
    attempts: redisLoginAttempts(redis, {
      namespace: options.namespace,
      ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
      log: app.log
    }),
    lockout: { threshold: options.threshold ?? 5 },
    addressLimit: { max: 1000, timeWindow: 60_000 },
    async verifyUser (username, password) {
      checks++
      await sleep(20)
      return username === 'ann' && password === RIGHT ? { subject: 'ann', scopes: ['read'] } : null
    }
  })
  await app.register(basicAuth, { verify: login })
  app.get('/me', { schema: { security: [{ basic: [] }] } }, async (request) => request.auth?.subject)
  app.get('/open', { schema: { security: [] } }, async () => 'ok')
  app.get('/strict', { schema: { security: [] }, config: { rateLimit: { max: 3, timeWindow: 60_000, skipOnError: false } } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())
  return {
    app,
    checks: () => checks,
    logs,
    me: async (password) => await app.inject({ url: '/me', headers: basic('ann', password) })
  }
}

export const statuses = (responses: Array<{ statusCode: number }>): Record<number, number> =>
  responses.reduce<Record<number, number>>((count, r) => ({ ...count, [r.statusCode]: (count[r.statusCode] ?? 0) + 1 }), {})

/** Resolves once `client` is ready (connected again after an outage), failing after 15 s. */
export async function ready<C extends Redis | Cluster> (client: C): Promise<C> {
  const end = Date.now() + 15_000
  while (client.status !== 'ready') {
    if (Date.now() > end) throw new Error(`the Redis client is still ${client.status}`)
    await sleep(20)
  }
  return client
}
