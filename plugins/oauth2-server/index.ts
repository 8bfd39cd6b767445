import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { clientAuthenticator } from './clients.js'
import { createLogin } from './login.js'
import { createSessions } from './sessions.js'
import { registerEndpoints } from './endpoints.js'
import { serverSettings, type OAuth2Server, type OAuth2ServerOptions } from './options.js'

export type { OAuth2Server, OAuth2ServerOptions } from './options.js'

/**
 * The authorization-server half for the app's own users: `POST` token (password,
 * refresh_token with rotation and reuse detection, client_credentials), RFC 7009 revocation,
 * RFC 8414 metadata, RFC 6749 §5.2 errors, `no-store`, its own form parser, account lockout and
 * a per-address limit. The app gives it a user verifier and, for sessions, a store.
 */
const oauth2ServerPlugin: FastifyPluginAsync<OAuth2ServerOptions> = async (fastify, opts) => {
  const settings = serverSettings(fastify, opts)
  const tokens = fastify.accessTokens
  const sessions = createSessions(tokens, settings.sessions, settings)
  const login = createLogin(settings.verifyUser ?? (() => null), tokens.scopes, settings.login, sessions.isCurrent)
  fastify.decorate('oauth2Server', {
    login,
    endSessions: sessions.endAll,
    unlock: login.unlock
  } satisfies OAuth2Server)
  // The bearer scheme's document shows this endpoint's flows: the core composes them.
  fastify.warden.addTokenEndpoint(tokens.scheme, { url: settings.tokenPath, grants: settings.grants })
  const authenticateClient = clientAuthenticator(settings.clients, tokens.scopes, settings.realm, settings.publicClientId)
  await registerEndpoints(fastify, { settings, tokens, sessions, login, authenticateClient })
}

/** The token endpoint as a plugin: password, refresh-token and client-credentials grants, revocation and metadata. */
export const oauth2Server = fp(oauth2ServerPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-server',
  dependencies: ['fastify-warden', 'fastify-warden/oauth2-bearer']
})
export default oauth2Server
