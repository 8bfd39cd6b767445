import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { warden, oauth2Bearer, apiKey, basicAuth, generateApiKey, type OAuth2BearerOptions, type WardenOptions } from '../../plugins/index.js'
import { SECRET, ISSUER, AUDIENCE } from './keys.js'

export const SCOPES = { 'users:read': 'Read users', 'users:write': 'Create users', admin: 'Administer' }
/** A fixed instant, so token times are deterministic. */
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

export interface Fixture {
  app: FastifyInstance
  token (scopes?: string[], extra?: Record<string, unknown>): string
  /** A static API key with `users:read`. */
  readKey: string
  basic (username: string, password: string): string
}

/** An app with the core and the three schemes, before any route is added. */
export async function schemesApp (
  opts: { warden?: WardenOptions, bearer?: Partial<OAuth2BearerOptions>, clock?: () => number, fastify?: FastifyServerOptions } = {}
): Promise<Fixture> {
  const app = Fastify(opts.fastify)
  const now = opts.clock ?? (() => NOW)
  const readKey = generateApiKey().key
  await app.register(warden, { scopes: SCOPES, ...opts.warden })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now, ...opts.bearer } as OAuth2BearerOptions)
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'key-read', key: readKey, subject: 'svc-reader', scopes: ['users:read'] }], now })
  await app.register(basicAuth, {
    verify: (username, password) => username === 'alice' && password === 'correct horse' ? { subject: 'alice', scopes: ['users:read'] } : null
  })
  return {
    app,
    readKey,
    token: (scopes = [], extra = {}) => app.accessTokens.sign({ sub: 'user-1', scope: scopes, ...extra }).token,
    basic: (username, password) => 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64')
  }
}
