import type { FastifyInstance } from 'fastify'
import type { BearerSettings } from './settings.js'
import type { AccessTokens } from './options.js'

/** `GET /.well-known/jwks.json` (or the app's path): the public keys, when the scheme signs asymmetrically. */
export function publishKeys (fastify: FastifyInstance, path: string, tokens: AccessTokens): void {
  const body = JSON.stringify(tokens.jwks())
  fastify.get(
    path,
    {
      schema: {
        security: [],
        summary: 'Public keys that verify access tokens (JWK Set, RFC 7517)',
        tags: ['auth'],
        response: {
          200: {
            description: 'The public keys',
            type: 'object',
            required: ['keys'],
            properties: { keys: { type: 'array', maxItems: 100, items: { type: 'object', additionalProperties: true } } }
          }
        }
      }
    },
    async (_request, reply) => reply.type('application/json').header('cache-control', 'public, max-age=300').send(body)
  )
}

/** RFC 9728 protected-resource metadata, at the path its resource identifier gives. */
export function publishResourceMetadata (fastify: FastifyInstance, metadata: NonNullable<BearerSettings['metadata']>): void {
  const body = JSON.stringify(metadata.document)
  fastify.get(
    metadata.path,
    {
      schema: {
        security: [],
        summary: 'How to get a token for this API (RFC 9728 protected-resource metadata)',
        tags: ['auth'],
        response: {
          200: {
            description: 'Protected-resource metadata',
            type: 'object',
            required: ['resource'],
            properties: { resource: { type: 'string', format: 'uri', maxLength: 2048 } },
            additionalProperties: true
          }
        }
      }
    },
    async (_request, reply) => reply.type('application/json').header('cache-control', 'public, max-age=3600').send(body)
  )
}
