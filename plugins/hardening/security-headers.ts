import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import { integerOption } from '../core/option-checks.js'
import { API_CSP_DIRECTIVES } from './api-headers.js'

export interface SecurityHeadersOptions {
  /** HSTS max-age, seconds. Default one year (and at least that when set). */
  hstsMaxAge?: number
  /** Add `Cache-Control: no-store` to every response to an authenticated request. Default `true`. */
  noStoreAuthenticated?: boolean
}

const ONE_YEAR = 31_536_000

const securityHeadersPlugin: FastifyPluginAsync<SecurityHeadersOptions> = async (fastify, opts) => {
  const maxAge = integerOption('hstsMaxAge', opts.hstsMaxAge, ONE_YEAR, ONE_YEAR, 2 * ONE_YEAR)
  await fastify.register(helmet, {
    global: true,
    // An API answers JSON: nothing may load, frame or be framed. Swagger UI's page sets its own
    // policy (scripts and styles from itself), which replaces this one on that page only.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: API_CSP_DIRECTIVES
    },
    strictTransportSecurity: { maxAge, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' }
  })
  // Fastify sends no X-Powered-By (a test keeps it that way), so only no-store needs a hook.
  if (opts.noStoreAuthenticated !== false) {
    fastify.addHook('onSend', async (request, reply, payload) => {
      if (request.auth != null) reply.header('cache-control', 'no-store')
      return payload
    })
  }
}

/** @fastify/helmet with defaults for an API, and `no-store` on authenticated responses. */
export const securityHeaders = fp(securityHeadersPlugin, { fastify: '5.x', name: 'fastify-warden/security-headers' })
export default securityHeaders
