import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { ExpiringCache } from '../core/expiring-cache.js'
import { apiKeySettings } from './settings.js'
import { apiKeyAuthenticator, type VerifiedKey } from './authenticate.js'
import { challengeParams, schemeDocument } from './document.js'
import { generateApiKey } from './format.js'
import type { ApiKeyOptions, ApiKeys } from './options.js'

export type { ApiKeyOptions, ApiKeyRecord, ApiKeys, StaticApiKey } from './options.js'

const apiKeyPlugin: FastifyPluginAsync<ApiKeyOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const settings = apiKeySettings(opts, warden)
  const { name, scopes, hasher } = settings
  const cache = settings.cache === undefined ? undefined : new ExpiringCache<VerifiedKey>(settings.cache.max)

  fastify.decorate('apiKeys', {
    issue () {
      const { key, prefix } = generateApiKey()
      return { key, prefix, digest: hasher.digest(key) }
    },
    digest: (key: string) => hasher.digest(key),
    forget: (prefix: string) => cache?.delete(prefix)
  } satisfies ApiKeys)

  warden.addScheme({
    name,
    scopes,
    openapi: schemeDocument(settings),
    challenge: warden.challenge('ApiKey', challengeParams(settings), true),
    authenticate: apiKeyAuthenticator(settings, cache)
  })
}

/** API-key scheme: keys in a header, stored as HMAC digests, with per-key scopes and expiry. */
export const apiKey = fp(apiKeyPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/api-key',
  dependencies: ['fastify-warden']
})
export default apiKey
