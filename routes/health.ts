import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { StringEnum } from '../app/schemas/common.js'
import type { Stores } from '../app/stores.js'
import { DatabaseUnavailable } from '../stores/index.js'
import type { PasswordHasher } from '../plugins/index.js'

const State = StringEnum(['ok', 'unavailable'] as const)
const Count = Type.Integer({ format: 'int32', minimum: 0, maximum: 1_000_000 })
const Health = Type.Object(
  {
    status: State,
    database: State,
    load: Type.Object(
      {
        event_loop_delay_ms: Type.Number({
          minimum: 0,
          maximum: 1e9,
          description: 'Event-loop delay (@fastify/under-pressure); the server sheds requests with 503 above its limit'
        }),
        heap_used_bytes: Type.Integer({ format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
        password_checks_running: Count,
        password_checks_queued: Count
      },
      { additionalProperties: false }
    )
  },
  { additionalProperties: false }
)

// Seconds a probe should wait after a 503, whichever its cause.
const RETRY_AFTER = 1

/**
 * The 503 has two bodies: the Health report when the database does not answer, and the load
 * shedder's problem when the server is overloaded. /health is shed like any route on purpose: a
 * load balancer's probe must see an overloaded instance, to send the traffic elsewhere.
 */
const Unavailable = {
  description: 'The database does not answer (the report), or the server is overloaded and sheds requests (a problem)',
  headers: { 'Retry-After': { type: 'integer', format: 'int32', minimum: 0, maximum: 3600, description: 'Seconds to wait before asking again' } },
  content: {
    'application/json': { schema: Health },
    'application/problem+json': { schema: { $ref: 'Problem#' } }
  }
}

const healthRoutes: FastifyPluginAsyncTypebox<{ stores: Stores; passwords: PasswordHasher }> = async (app, { stores, passwords }) => {
  app.get(
    '/health',
    {
      schema: {
        security: [],
        tags: ['health'],
        summary: 'Liveness and store readiness',
        response: { 200: { description: 'Up, and the database answers', ...Health }, 503: Unavailable }
      }
    },
    async (request, reply) => {
      const database = await stores.db.query('SELECT 1').then(
        () => 'ok' as const,
        (err: Error) => {
          // A lost connection is logged once per outage by the database's Availability; anything else here.
          if (!(err instanceof DatabaseUnavailable)) request.log.error({ err }, 'database unavailable')
          return 'unavailable' as const
        }
      )
      if (database !== 'ok') reply.header('retry-after', RETRY_AFTER)
      const pressure = app.memoryUsage()
      const hashing = passwords.load()
      return await reply.code(database === 'ok' ? 200 : 503).send({
        status: database,
        database,
        load: {
          event_loop_delay_ms: Number.isFinite(pressure.eventLoopDelay) ? Math.round(pressure.eventLoopDelay * 10) / 10 : 0,
          heap_used_bytes: pressure.heapUsed,
          password_checks_running: hashing.running,
          password_checks_queued: hashing.queued
        }
      })
    }
  )
}

export default healthRoutes
