import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { invalidFields, problem, securityEvent, sendProblem } from '../plugins/index.js'
import { ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyListed } from '../app/schemas/api-keys.js'
import type { Scope } from '../app/schemas/scopes.js'
import { IdParams, problemResponse } from '../app/schemas/common.js'
import type { Stores } from '../app/stores.js'
import type { StoredApiKey } from '../stores/index.js'

export interface ApiKeyRoutesOptions {
  stores: Stores
}

const MAX_LIFETIME_MS = 366 * 86_400_000
/**
 * Seconds since the user's login (not the token's last refresh) within which a key may be made:
 * a key outlives the token by up to a year, so a token stolen or left in a browser must not mint one.
 * The app has no second factor, so step-up asks for a recent password login (RFC 9470 max_age), no acr.
 */
const STEP_UP_MAX_AGE = 300

const view = (key: StoredApiKey) => ({
  id: key.id,
  prefix: key.prefix,
  name: key.name,
  scopes: key.scopes as Scope[],
  expires_at: key.expiresAt?.toISOString() ?? null,
  created_at: key.createdAt.toISOString()
})

const apiKeyRoutes: FastifyPluginAsyncTypebox<ApiKeyRoutesOptions> = async (app, { stores }) => {
  app.addSchema(ApiKeyListed)
  const security: [{ oauth2: [] }] = [{ oauth2: [] }]

  app.post(
    '/api-keys',
    {
      schema: {
        security,
        'x-step-up': { max_age: STEP_UP_MAX_AGE },
        tags: ['api-keys'],
        summary: 'Create an API key for the caller; the key is shown once',
        description: `Needs a login of the last ${STEP_UP_MAX_AGE / 60} minutes (RFC 9470 \`max_age\`; refreshing the token does not count): ` +
          'an older one is refused 401 with `error="insufficient_user_authentication"` and `max_age` in `WWW-Authenticate`. Log in again.',
        body: ApiKeyCreate,
        response: { 201: ApiKeyCreated, 400: problemResponse('Invalid input, naming the fields') }
      }
    },
    async (request, reply) => {
      const auth = request.auth
      const { name, scopes, expires_at: expiresAt } = request.body
      const beyond = scopes.filter((s) => !auth.scopes.includes(s))
      if (beyond.length > 0) {
        return await sendProblem(reply, 403, problem(403, `A key cannot grant scopes the caller's token does not hold: ${beyond.join(' ')}.`))
      }
      const expires = expiresAt === undefined ? null : new Date(expiresAt)
      if (expires !== null && (expires.getTime() <= Date.now() || expires.getTime() > Date.now() + MAX_LIFETIME_MS)) {
        return await sendProblem(reply, 400, invalidFields([{ in: 'body', field: '/expires_at', message: 'must be in the future and within a year' }]))
      }
      const issued = app.apiKeys.issue()
      const stored = await stores.apiKeys.create({ subject: auth.subject, name, prefix: issued.prefix, digest: issued.digest, scopes, expiresAt: expires })
      securityEvent(request, 'apikey.created', { api_key: stored.id, prefix: stored.prefix, scope: scopes.join(' ') })
      return await reply.code(201).send({ ...view(stored), key: issued.key })
    }
  )

  app.get(
    '/api-keys',
    {
      schema: { security, tags: ['api-keys'], summary: "The caller's API keys (never the keys themselves)", response: { 200: ApiKeyList } }
    },
    async (request) => {
      const keys = await stores.apiKeys.listBySubject(request.auth.subject)
      return { items: keys.map((k) => ({ ...view(k), last_used_at: k.lastUsedAt?.toISOString() ?? null, request_count: k.requestCount })) }
    }
  )

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        security,
        tags: ['api-keys'],
        summary: 'Revoke one of the caller’s API keys',
        params: IdParams,
        response: {
          204: Type.Null({ description: 'Revoked' }),
          400: problemResponse('The id is not a UUID'),
          404: problemResponse('No such key among the caller’s')
        }
      }
    },
    async (request, reply) => {
      const prefix = await stores.apiKeys.revoke(request.auth.subject, request.params.id)
      // Another user's key is as unknown as a missing one.
      if (prefix === null) return await sendProblem(reply, 404, problem(404, 'No such API key.'))
      await stores.revocations.revokeApiKey(prefix)
      securityEvent(request, 'apikey.revoked', { api_key: request.params.id, prefix })
      return await reply.code(204).send(null)
    }
  )
}

export default apiKeyRoutes
