import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { OpenAPIV3_1 } from 'openapi-types'
import { errors } from '../errors.js'
import { challengeBuilder, assertHeaderSafe, SCOPE } from './challenge.js'
import { parseRequirement } from './requirement.js'
import { problemErrorHandler } from './error-handler.js'
import { problem, sendProblem } from './problem.js'
import { addProblemSchema } from './responses.js'
import { answerWhileClosing } from './guard.js'
import { lingeringClose } from './lingering-close.js'
import { compileRoutes, guardRoutes, kDefaultSecurity, type Pending, type Read, type Scoped, type WardenRoute } from './route-guards.js'

export type { WardenRoute }
import type { AuthPrincipal, DpopMode, SecurityRequirement, SecurityScheme } from './types.js'
import { loadTelemetry } from './telemetry.js'
import { demandScopes } from './scope-demands.js'
import { addHeaders, checkTokenEndpoint, schemeDocuments, type ResponseHeader, type TokenEndpoint } from './documentation.js'

export interface WardenOptions {
  /**
   * The scopes of the API, name → description. Schemes grant only these, and a route asking for
   * any other scope fails at start-up. The OAuth2 scheme documents them in its flow.
   */
  scopes?: Record<string, string>
  /**
   * Requirement of routes that declare no `schema.security`. Default: any registered scheme,
   * no scope. Public routes opt out with `security: []`.
   */
  defaultSecurity?: SecurityRequirement[]
  /** Realm of every scheme's challenge unless the scheme sets its own. Default `'api'`. */
  realm?: string
  /**
   * Install `problemErrorHandler` and a not-found handler, so every error reply is problem+json
   * and no server error reveals its cause. Default `true`; `false` leaves the app's handlers alone.
   */
  errorHandler?: boolean
}

/** A route and the requirement it enforces (after `ready()`; `[]` for public routes). */

/** The core's registry, decorated as `fastify.warden`. */
export interface Warden {
  /** Every route and what it enforces, once the app is ready: what `checkSecurityContract()` walks. */
  readonly routes: readonly WardenRoute[]
  readonly realm: string
  readonly scopes: Readonly<Record<string, string>>
  readonly schemes: ReadonlyMap<string, SecurityScheme>
  /** Register a security scheme under its name. Scheme plugins call this at registration. */
  addScheme(scheme: SecurityScheme): void
  /** Build a scheme's challenge function (see `challengeBuilder`), so schemes share one implementation. */
  challenge: typeof challengeBuilder
  /**
   * Say that this service issues the tokens of scheme `scheme` at a token endpoint (the
   * oauth2Server plugin does): the scheme's document then shows that endpoint's flows, whichever
   * of the two plugins registered first.
   */
  addTokenEndpoint(scheme: string, endpoint: TokenEndpoint): void
  /**
   * Document headers that any answer may carry, name → OpenAPI Header Object (the cors plugin's
   * `Access-Control-Allow-Origin`): the openapi plugin adds them to every response.
   */
  addResponseHeaders(headers: Readonly<Record<string, ResponseHeader>>): void
  /** The headers plugins documented with `addResponseHeaders()`. */
  readonly responseHeaders: Readonly<Record<string, ResponseHeader>>
  /**
   * The document's `components.securitySchemes`: each scheme's `openapi` object with the flows of
   * the token endpoint that issues its tokens. Read when the document is generated.
   */
  securitySchemes(): Record<string, OpenAPIV3_1.SecuritySchemeObject>
}

declare module 'fastify' {
  interface FastifyInstance {
    warden: Warden
    /**
     * Set the requirement of routes without `schema.security` registered in this context and its
     * children, e.g. `[]` around a third-party plugin whose routes are public.
     */
    setDefaultSecurity(requirement: ReadonlyArray<{ [securityLabel: string]: readonly string[] }>): FastifyInstance
  }
  // The type parameters are Fastify's own: SchemaCompiler is the route's schema as written.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a merged interface repeats every parameter
  interface FastifyRequest<RouteGeneric, RawServer, RawRequest, SchemaCompiler, TypeProvider, ContextConfig, Logger, RequestType> {
    /**
     * The authenticated caller; `null` on public routes and for anonymous callers of optional
     * ones. In the handler of a route whose `schema.security` requires authentication it is typed
     * non-null (see `AuthOf`).
     */
    auth: AuthOf<SchemaCompiler>
    /**
     * Demand the scopes the route's `'x-scope-demands'` lists under `labels` (one, or all those of
     * a batch at once), once the body says which operations the request is (JSON-RPC methods, MCP
     * tools): returns when `request.auth` holds them, else throws `ScopeDemandRefused`, answered
     * as the route's guard answers (403 `insufficient_scope` naming every scope the request needs;
     * 401 for an anonymous caller). A label the route does not declare is a bug of the handler:
     * `WARDEN_ERR_REQUIREMENT`, a 500.
     */
    demandScopes(labels: string | readonly string[]): void
  }
  interface FastifySchema {
    security?: ReadonlyArray<{ [securityLabel: string]: readonly string[] }>
    /** How the route's token schemes take DPoP-bound tokens (RFC 9449); default: the scheme's `dpop.mode`. */
    'x-dpop'?: DpopMode
    /** RFC 9470 step-up: the token's login must be of one of `acr_values` and/or at most `max_age` seconds old. */
    'x-step-up'?: { acr_values?: readonly string[]; max_age?: number }
    /** Scopes demanded once the body is read, by label (`request.demandScopes(label)`); shown in the document as is. */
    'x-scope-demands'?: { readonly [label: string]: readonly string[] }
  }
}

/**
 * The type of `request.auth` for a route's schema: `AuthPrincipal` when its `security` requires
 * authentication in every alternative, `null` when it is public (`[]`), and `AuthPrincipal | null`
 * when authentication is optional (`{}` among the alternatives) or the route relies on a default
 * that the app may have set to public.
 */
export type AuthOf<Schema> = Schema extends { security: infer Requirement }
  ? [Requirement] extends [ReadonlyArray<never>]
      ? null
      : Requirement extends ReadonlyArray<infer Alternative>
        ? {} extends Alternative
            ? AuthPrincipal | null
            : AuthPrincipal
        : AuthPrincipal | null
  : AuthPrincipal | null

export const DEFAULT_REALM = 'api'

function checkOptions (opts: WardenOptions): Required<Omit<WardenOptions, 'defaultSecurity'>> & { defaultSecurity?: SecurityRequirement[] } {
  const realm = opts.realm ?? DEFAULT_REALM
  assertHeaderSafe('realm', realm)
  const scopes = opts.scopes ?? {}
  if (scopes === null || typeof scopes !== 'object' || Array.isArray(scopes)) {
    throw new errors.WARDEN_ERR_OPTION('scopes', 'must be an object of scope name to description')
  }
  for (const [name, description] of Object.entries(scopes)) {
    if (!SCOPE.test(name)) throw new errors.WARDEN_ERR_OPTION(`scopes.${name}`, 'is not a valid scope name (RFC 6749 §3.3)')
    if (typeof description !== 'string') throw new errors.WARDEN_ERR_OPTION(`scopes.${name}`, 'must have a string description')
  }
  const defaultSecurity = opts.defaultSecurity === undefined ? undefined : parseRequirement('defaultSecurity', opts.defaultSecurity)
  if (opts.errorHandler !== undefined && typeof opts.errorHandler !== 'boolean') throw new errors.WARDEN_ERR_OPTION('errorHandler', 'must be a boolean')
  return { realm, scopes: Object.freeze({ ...scopes }), defaultSecurity, errorHandler: opts.errorHandler ?? true }
}

/** A scheme's name and those the document shows it by. */
const namesOf = (scheme: SecurityScheme): string[] => [scheme.name, ...Object.keys(scheme.documentedAs ?? {})]

function decorate (
  fastify: FastifyInstance,
  options: ReturnType<typeof checkOptions>,
  schemes: Map<string, SecurityScheme>,
  routes: readonly WardenRoute[]
): void {
  const endpoints = new Map<string, TokenEndpoint>()
  const headers: Record<string, ResponseHeader> = {}
  fastify.decorate('warden', {
    routes,
    realm: options.realm,
    scopes: options.scopes,
    schemes,
    challenge: challengeBuilder,
    addScheme (scheme: SecurityScheme) {
      // Its name, and the names the document shows it by (one per issuer), are each one scheme's.
      const taken = new Set([...schemes.values()].flatMap(namesOf))
      const clash = namesOf(scheme).find((name) => taken.has(name))
      if (clash !== undefined) throw new errors.WARDEN_ERR_DUPLICATE_SCHEME(clash)
      schemes.set(scheme.name, scheme)
    },
    addTokenEndpoint (scheme: string, endpoint: TokenEndpoint) {
      endpoints.set(scheme, checkTokenEndpoint(endpoints, scheme, endpoint))
    },
    addResponseHeaders (added: Readonly<Record<string, ResponseHeader>>) {
      addHeaders(headers, added)
    },
    get responseHeaders () {
      return { ...headers }
    },
    securitySchemes: () => schemeDocuments(schemes, endpoints, options.scopes)
  } satisfies Warden)
  fastify.decorate(kDefaultSecurity, options.defaultSecurity)
  fastify.decorate('setDefaultSecurity', function (this: Scoped, requirement: ReadonlyArray<SecurityRequirement>) {
    this[kDefaultSecurity] = parseRequirement('setDefaultSecurity', requirement)
    return this
  })
  fastify.decorateRequest('auth', null)
  fastify.decorateRequest('demandScopes', demandScopes)
}

const wardenPlugin: FastifyPluginAsync<WardenOptions> = async (fastify, opts) => {
  const options = checkOptions(opts)
  const schemes = new Map<string, SecurityScheme>()
  const pending: Pending[] = []
  const read: Read[] = []
  const routes: WardenRoute[] = []
  // Metrics and spans through @opentelemetry/api when the app has it.
  await loadTelemetry()
  decorate(fastify, options, schemes, routes)
  answerWhileClosing(fastify)
  lingeringClose(fastify)
  addProblemSchema(fastify)
  if (options.errorHandler) {
    fastify.setErrorHandler(problemErrorHandler)
    fastify.setNotFoundHandler((request, reply) => {
      sendProblem(reply, 404, problem(404, `No route for ${request.method} ${request.url.split('?')[0].slice(0, 200)}.`))
    })
  }
  guardRoutes(fastify, pending, read)
  fastify.addHook('onReady', function (done) {
    try {
      compileRoutes(fastify, pending, read, schemes, routes)
      done()
    } catch (err) {
      done(err as Error)
    }
  })
}

/** The core plugin: scheme registry, requirement compiler, `request.auth` and error replies. */
export const warden = fp(wardenPlugin, { fastify: '5.x', name: 'fastify-warden' })
export default warden
