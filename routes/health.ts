import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { StringEnum } from '../schemas/common.js'
import type { Stores } from '../stores/identity.js'

const State = StringEnum(['ok', 'unavailable'] as const)
const Health = Type.Object({ status: State, database: State }, { additionalProperties: false })

const healthRoutes: FastifyPluginAsyncTypebox<{ stores: Stores }> = async (app, { stores }) => {
  app.get('/health', {
    schema: { security: [], tags: ['health'], summary: 'Liveness and store readiness', response: { 200: { description: 'Up, and the database answers', ...Health }, 503: { description: 'The database does not answer', ...Health } } }
  }, async (request, reply) => {
    const database = await stores.db.query('SELECT 1').then(() => 'ok' as const, (err: Error) => {
      request.log.error({ err }, 'database unavailable')
      return 'unavailable' as const
    })
    return await reply.code(database === 'ok' ? 200 : 503).send({ status: database, database })
  })
}

export default healthRoutes
