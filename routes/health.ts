import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Stores } from '../stores/index.js'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  database: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])
})

const healthRoutes: FastifyPluginAsyncTypebox<{ stores: Stores }> = async (app, { stores }) => {
  app.get('/health', {
    schema: { security: [], tags: ['health'], summary: 'Liveness and store readiness', response: { 200: Health, 503: Health } }
  }, async (request, reply) => {
    const database = await stores.db.query('SELECT 1').then(() => 'ok' as const, (err: Error) => {
      request.log.error({ err }, 'database unavailable')
      return 'unavailable' as const
    })
    return await reply.code(database === 'ok' ? 200 : 503).send({ status: database, database })
  })
}

export default healthRoutes
