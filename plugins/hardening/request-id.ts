import { randomUUID } from 'node:crypto'
import { LogController, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

// Bounded length and charset: a request id ends up in every log line, so it must not carry
// newlines, quotes or a megabyte of text.
const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/
const HEADER = 'x-request-id'

/**
 * Fastify server options that take the caller's `X-Request-ID` when it is well-formed and make
 * one up otherwise, logged as `request_id` in every line of the request.
 *
 * @example
 * const app = Fastify({ ...requestIdOptions(), logger: true })
 * await app.register(requestId)
 */
export function requestIdOptions (): Pick<FastifyServerOptions, 'genReqId' | 'requestIdHeader' | 'logController'> {
  return {
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    genReqId (request: IncomingMessage): string {
      const given = request.headers[HEADER]
      return typeof given === 'string' && WELL_FORMED.test(given) ? given : randomUUID()
    }
  }
}

const requestIdPlugin: FastifyPluginAsync = async (fastify) => {
  // Set first thing, so every answer carries it, refusals included.
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
}

/** Echo the request id (see `requestIdOptions()`) on every response as `X-Request-ID`. */
export const requestId = fp(requestIdPlugin, { fastify: '5.x', name: 'fastify-warden/request-id' })
export default requestId
