// The published types carry @fastify/swagger's, so an app's `app.swagger()` is typed.
/// <reference types="@fastify/swagger" preserve="true" />
import type { FastifyInstance, FastifyPluginAsync, FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { OpenAPIV3_1 } from 'openapi-types'
import { pathOption, stringOption, urlOption } from '../core/option-checks.js'
import { routeTable } from '../core/route-table.js'
import { errors } from '../errors.js'
import { documentedSecurity } from '../core/documentation.js'

export interface OpenApiOptions {
  /** The document's `info`. Default: title and version from package.json. */
  info?: OpenAPIV3_1.InfoObject
  servers?: OpenAPIV3_1.ServerObject[]
  tags?: OpenAPIV3_1.TagObject[]
  /** Where Swagger UI is served (with `/json` and `/yaml` below it); `false` for none. Default `/docs`. */
  routePrefix?: string | false
  /**
   * Swagger UI's login against an external provider (authorization code with PKCE): the public
   * client id registered there (with `{docs}/static/oauth2-redirect.html` as its redirect URI),
   * and the provider's origin, which the docs page may then call (discovery, token endpoint).
   */
  login?: { clientId: string; providerOrigin: string; scopes?: string[] }
}

/** The Content-Security-Policy of the Swagger UI pages. */
export const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "frame-ancestors 'none'",
  "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  "style-src 'self' https: 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='", "form-action 'self'"
].join('; ')

/** Add `headers` to every response of every operation (what plugins such as cors send on all of them). */
function withResponseHeaders (document: OpenAPIV3_1.Document, headers: Readonly<Record<string, OpenAPIV3_1.HeaderObject>>): OpenAPIV3_1.Document {
  for (const item of Object.values(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation) || method === 'parameters') continue
      for (const response of Object.values((operation as OpenAPIV3_1.OperationObject).responses ?? {})) {
        if ('$ref' in response) continue
        response.headers = { ...headers, ...response.headers } as OpenAPIV3_1.ResponseObject['headers']
      }
    }
  }
  return document
}

/** An origin (scheme, host, port) for a CSP source list: nothing else may slip into the policy. */
function originOption (name: string, value: unknown): string {
  if (typeof value !== 'string' || value.startsWith('/')) throw new errors.WARDEN_ERR_OPTION(name, 'must be an origin such as https://id.example.com')
  const url = new URL(urlOption(name, value))
  if (url.origin !== value) throw new errors.WARDEN_ERR_OPTION(name, 'must be an origin such as https://id.example.com')
  return url.origin
}

/** Marks the config of every route @fastify/swagger was told of. */
const kDocumented = Symbol('fastify-warden.documented')

type Transform = (args: { schema: FastifySchema, url: string }) => { schema: FastifySchema, url: string }
type RouteTransform = (args: { schema: FastifySchema, url: string }) => { schema?: FastifySchema, url?: string } | undefined

/**
 * A requirement naming a scheme documented as several (one per issuer) is shown as one
 * alternative per name, before @fastify/swagger reads it (it looks each name up): the plugin's
 * transform, and after a route's own (`config.swaggerTransform`, which takes the plugin's place).
 */
function issuerExpansion (
  warden: FastifyInstance['warden']
): { expand: Transform, routeTransform: (own: RouteTransform | false | undefined) => Transform | undefined } {
  const expand: Transform = ({ schema, url }) => {
    const security = schema?.security
    if (security === undefined || ![...warden.schemes.values()].some((s) => s.documentedAs !== undefined)) return { schema, url }
    return { schema: { ...schema, security: documentedSecurity(warden.schemes, security) }, url }
  }
  const routeTransform = (own: RouteTransform | false | undefined): Transform | undefined => {
    if (own === undefined) return undefined
    if (own === false) return expand
    return (args) => {
      const result = own(args) ?? {}
      return expand({ schema: result.schema ?? args.schema, url: result.url ?? args.url })
    }
  }
  return { expand, routeTransform }
}

const openapiPlugin: FastifyPluginAsync<OpenApiOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const routePrefix = opts.routePrefix === false ? false : pathOption('routePrefix', opts.routePrefix, '/docs')
  const login =
    opts.login === undefined
      ? undefined
      : {
          clientId: stringOption('login.clientId', opts.login.clientId),
          providerOrigin: originOption('login.providerOrigin', opts.login.providerOrigin),
          ...(opts.login.scopes === undefined ? {} : { scopes: opts.login.scopes })
        }
  const components: OpenAPIV3_1.ComponentsObject = {}
  // Read when the document is generated, after every scheme plugin has registered.
  Object.defineProperty(components, 'securitySchemes', { enumerable: true, get: () => warden.securitySchemes() })

  // @fastify/swagger hears only of routes added after it; one added before would be missing from
  // the document without a word, so the app does not start instead.
  const { expand, routeTransform } = issuerExpansion(warden)
  fastify.addHook('onRoute', (route) => {
    const own = routeTransform((route.config as { swaggerTransform?: RouteTransform | false } | undefined)?.swaggerTransform)
    route.config = { ...route.config, [kDocumented]: true, ...(own === undefined ? {} : { swaggerTransform: own }) } as typeof route.config
  })
  fastify.addHook('onReady', async function () {
    const missing = routeTable(fastify).find((r) => r.config[kDocumented] !== true && r.method !== 'HEAD' && r.schema?.hide !== true)
    if (missing !== undefined) throw new errors.WARDEN_ERR_UNDOCUMENTED_ROUTE(`${missing.method} ${missing.url}`)
  })

  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      ...(opts.info === undefined ? {} : { info: opts.info }),
      ...(opts.servers === undefined ? {} : { servers: opts.servers }),
      ...(opts.tags === undefined ? {} : { tags: opts.tags }),
      components
    },
    transform: expand,
    // Headers every answer may carry (the cors plugin's), as plugins told the core: on each response.
    transformObject: (documents) => {
      const headers = warden.responseHeaders
      const document = 'openapiObject' in documents ? documents.openapiObject : documents.swaggerObject
      if (Object.keys(headers).length === 0) return document
      return withResponseHeaders(document as OpenAPIV3_1.Document, headers) as typeof document
    },
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) }
  })

  if (routePrefix !== false) {
    await fastify.register(async function docs (child) {
      child.setDefaultSecurity([])
      await child.register(swaggerUi, {
        routePrefix,
        // No validator badge: it would send the document to a third party.
        uiConfig: { persistAuthorization: true, deepLinking: true, validatorUrl: null },
        ...(login === undefined
          ? {}
          : {
              initOAuth: { clientId: login.clientId, usePkceWithAuthorizationCodeGrant: true, ...(login.scopes === undefined ? {} : { scopes: login.scopes }) }
            }),
        // swagger-ui's own policy minus upgrade-insecure-requests (which breaks plain-http
        // development servers) and minus framing; everything loads from this server. The style
        // hash is the one inline style Swagger UI applies (the browser test finds a new one).
        staticCSP: login === undefined ? DOCS_CSP : DOCS_CSP.replace("connect-src 'self'", `connect-src 'self' ${login.providerOrigin}`)
      })
    })
  }
}

/** @fastify/swagger (OpenAPI 3.1) and Swagger UI, with the registered schemes as `securitySchemes`. */
export const openapi = fp(openapiPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/openapi',
  dependencies: ['fastify-warden']
})
export default openapi
