import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { basicChallenge } from '../core/challenge.js'
import { basicAuthSettings } from './settings.js'
import { basicAuthenticator } from './authenticate.js'
import { schemeDocument } from './document.js'
import type { BasicAuthOptions } from './options.js'

export type { BasicAuthOptions, BasicAuthUser } from './options.js'
export { parseBasic } from './authenticate.js'

const basicAuthPlugin: FastifyPluginAsync<BasicAuthOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const settings = basicAuthSettings(opts, warden)
  warden.addScheme({
    name: settings.name,
    scopes: settings.scopes,
    openapi: schemeDocument(settings),
    challenge: basicChallenge(settings.realm),
    authenticate: basicAuthenticator(settings)
  })
}

/** HTTP Basic scheme (RFC 7617). */
export const basicAuth = fp(basicAuthPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/basic-auth',
  dependencies: ['fastify-warden']
})
export default basicAuth
