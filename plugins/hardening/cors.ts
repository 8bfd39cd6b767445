import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import fastifyCors from '@fastify/cors'
import { errors } from '../errors.js'
import { integerOption } from '../core/option-checks.js'
import type { ResponseHeader } from '../core/documentation.js'

export interface CorsOptions {
  /** Exact origins allowed (`https://app.example.com`); anything else gets no CORS headers. */
  origins: string[]
  /** `development` adds `developmentOrigins`. Default `production`. */
  environment?: 'development' | 'staging' | 'production'
  /** Local front-end servers allowed in development. Default: ports 3000, 5173, 8080 of localhost and 127.0.0.1. */
  developmentOrigins?: string[]
  /** Allow credentialed requests (cookies, `Authorization`). Default `true`; then `*` is refused. */
  credentials?: boolean
  methods?: string[]
  allowedHeaders?: string[]
  exposedHeaders?: string[]
  /** Seconds a browser may cache a preflight. Default 600. */
  maxAge?: number
}

function corsHeaders (origins: readonly string[], credentials: boolean): Record<string, ResponseHeader> {
  return {
    'Access-Control-Allow-Origin': {
      description: "Sent when the request's Origin is one of these, exactly (CORS)",
      schema: { type: 'string', enum: [...origins] }
    },
    ...(credentials
      ? { 'Access-Control-Allow-Credentials': { description: 'Sent with Access-Control-Allow-Origin', schema: { type: 'string', enum: ['true'] } } }
      : {}),
    Vary: { description: 'Answers vary by Origin', schema: { type: 'string', maxLength: 256 } }
  }
}

export const DEVELOPMENT_ORIGINS = [
  'http://localhost:3000',
  'http://localhost:5173',
  'http://localhost:8080',
  'http://127.0.0.1:3000',
  'http://127.0.0.1:5173',
  'http://127.0.0.1:8080'
]
// DPoP (RFC 9449): the proof a browser client sends, and the nonce it must read back. The Model
// Context Protocol's Streamable HTTP: the session and protocol version a browser client sends and
// reads back, and the event id it resumes a stream from.
const MCP_HEADERS = ['Mcp-Session-Id', 'Mcp-Protocol-Version']
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-ID', 'DPoP', ...MCP_HEADERS, 'Last-Event-ID']
const EXPOSED_HEADERS = [
  'X-Request-ID', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'WWW-Authenticate', 'DPoP-Nonce', ...MCP_HEADERS
]

/** Whether `value` is an http(s) origin, exactly as browsers send it (`https://app.example.com`). */
export function isOrigin (value: unknown): value is string {
  let url: URL | undefined
  try {
    url = new URL(String(value))
  } catch {}
  // url.origin of "null" or of a path-carrying string differs from the string itself.
  return url !== undefined && url.origin === value && (url.protocol === 'https:' || url.protocol === 'http:')
}

function origin (option: string, value: unknown): string {
  if (value === '*' || isOrigin(value)) return value
  throw new errors.WARDEN_ERR_OPTION(option, `'${String(value)}' is not an origin such as https://app.example.com`)
}

/**
 * Tell the core (when the app has it) which headers every answer may carry. Registered before the
 * core, cors tells it once the app is ready, when every plugin has registered.
 */
function documentHeaders (fastify: FastifyInstance, headers: Record<string, ResponseHeader>): void {
  if (fastify.hasDecorator('warden')) {
    fastify.warden.addResponseHeaders(headers)
    return
  }
  fastify.addHook('onReady', async function () {
    if (fastify.hasDecorator('warden')) fastify.warden.addResponseHeaders(headers)
  })
}

const corsPlugin: FastifyPluginAsync<CorsOptions> = async (fastify, opts) => {
  if (!Array.isArray(opts.origins)) throw new errors.WARDEN_ERR_OPTION('origins', 'must be an array of origins')
  const credentials = opts.credentials ?? true
  const development = opts.environment === 'development'
  const origins = [...opts.origins, ...(development ? (opts.developmentOrigins ?? DEVELOPMENT_ORIGINS) : [])].map((o, i) =>
    origin(i < opts.origins.length ? `origins[${i}]` : 'developmentOrigins', o)
  )
  const wildcard = origins.includes('*')
  if (wildcard && credentials) {
    throw new errors.WARDEN_ERR_OPTION('origins', "'*' with credentials would let any site call the API as its users; name the origins")
  }
  const allowed = new Set(origins)
  // The answer headers, documented on every response through the core: the origins are the
  // configuration itself, so the document says exactly which sites may read the answers.
  if (origins.length > 0) documentHeaders(fastify, corsHeaders(origins, credentials))
  // A preflight carries no credentials (Fetch standard): the route @fastify/cors adds for it is
  // public, wherever cors is registered relative to the core.
  let preflight = true
  fastify.addHook('onRoute', (route) => {
    if (preflight && route.method === 'OPTIONS') route.schema = { ...route.schema, security: [] }
  })
  await fastify.register(fastifyCors, {
    // Exact matches only: no prefixes, no patterns, so lookalike origins get nothing.
    origin: wildcard
      ? '*'
      : (requestOrigin, callback) => {
          callback(null, requestOrigin !== undefined && allowed.has(requestOrigin))
        },
    credentials,
    methods: opts.methods ?? ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: opts.allowedHeaders ?? ALLOWED_HEADERS,
    exposedHeaders: opts.exposedHeaders ?? EXPOSED_HEADERS,
    maxAge: integerOption('maxAge', opts.maxAge, 600, 0, 86_400),
    strictPreflight: true
  })
  preflight = false
}

/** CORS with an exact origin allow-list; refuses `*` with credentials at registration. */
export const cors = fp(corsPlugin, { fastify: '5.x', name: 'fastify-warden/cors' })
export default cors
