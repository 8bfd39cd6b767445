import type { FastifyInstance, FastifyPluginAsync, RouteOptions, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { OpenAPIV3_1 } from 'openapi-types'
import { errors } from '../errors.js'
import { challengeBuilder, assertHeaderSafe } from './challenge.js'
import { SCOPE, compileRequirement, parseRequirement, type Evaluator } from './requirement.js'
import { problemErrorHandler } from './error-handler.js'
import { problem, sendProblem } from './problem.js'
import { addProblemSchema, isPublicRequirement, withAuthResponses } from './responses.js'
import { answerWhileClosing, routeGuard, type Outages } from './guard.js'
import { lingeringClose } from './lingering-close.js'
import { routeName, routeTable, type RouteEntry } from './route-table.js'
import type { AuthPrincipal, SecurityRequirement, SecurityScheme } from './types.js'
import { loadTelemetry } from './telemetry.js'
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
export interface WardenRoute {
  readonly method: string
  readonly url: string
  readonly security: readonly SecurityRequirement[]
  /** Status codes its schema documents. */
  readonly documented: readonly string[]
}

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
  }
  interface FastifySchema {
    security?: ReadonlyArray<{ [securityLabel: string]: readonly string[] }>
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

const kDefaultSecurity = Symbol('fastify-warden.default-security')
type Scoped = FastifyInstance & { [kDefaultSecurity]?: SecurityRequirement[] }

export const DEFAULT_REALM = 'api'

/** Marks the config of every route the core compiled; Fastify copies it into the route's context. */
const kGuarded = Symbol('fastify-warden.guarded')

/**
 * Routes the core never saw: registered before it (in the app or in a plugin loaded earlier),
 * or in a context outside the one it was registered in. Those that need authentication would be
 * served open, so they stop the app; public ones (`security: []`) are only listed.
 */
function unguarded (table: readonly RouteEntry[]): Error | undefined {
  const open = table.filter(
    (r) => r.config[kGuarded] !== true && r.method !== 'HEAD' && !(Array.isArray(r.schema?.security) && isPublicRequirement(r.schema.security))
  )
  if (open.length === 0) return undefined
  const route = open[0]
  const what = route.schema?.security === undefined ? 'falls under the default security' : 'declares schema.security'
  return new errors.WARDEN_ERR_UNGUARDED_ROUTE(
    `${route.method} ${route.url}`,
    `${what} but was registered before fastify-warden (or outside the context it was registered in) ` +
      'and would be served without authentication: register fastify-warden before the plugin that adds the route' +
      (route.schema?.security === undefined ? ', or make the route public with security: []' : '') +
      (open.length > 1
        ? ` (${open.length - 1} more: ${open
            .slice(1, 6)
            .map((r) => `${r.method} ${r.url}`)
            .join(', ')}${open.length > 6 ? ', …' : ''})`
        : '')
  )
}

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

interface Pending {
  name: string
  requirement: SecurityRequirement[] | undefined
  route: RouteOptions
  bind: (e: Evaluator) => void
}

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
      if (schemes.has(scheme.name)) throw new errors.WARDEN_ERR_DUPLICATE_SCHEME(scheme.name)
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
}

/**
 * Every route added after the core: its requirement parsed (or the context's default), its
 * auth replies documented, and, unless it is public, the guard as its first onRequest hook.
 */
function guardRoutes (fastify: FastifyInstance, pending: Pending[]): void {
  // Shared by the app's routes: an outage of a scheme is logged once, whichever routes meet it.
  const outages: Outages = new Map()
  fastify.addHook('onRoute', function (this: Scoped, route) {
    const name = routeName(route)
    const declared = route.schema?.security
    // undefined: "every registered scheme", known only once all plugins have loaded.
    const requirement = declared !== undefined ? parseRequirement(name, declared) : this[kDefaultSecurity]
    const isPublic = requirement !== undefined && isPublicRequirement(requirement)
    route.config = { ...route.config, [kGuarded]: true } as typeof route.config
    route.schema = withAuthResponses(route.schema, requirement, isPublic)
    if (isPublic) return
    const guard = routeGuard(outages)
    pending.push({ name, requirement, route, bind: guard.bind })
    const own = route.onRequest
    route.onRequest = own === undefined ? [guard.hook] : [guard.hook, ...((Array.isArray(own) ? own : [own]) as onRequestHookHandler[])]
  })
}

/** At `ready()`: compile every guarded route's requirement, refuse unguarded routes, list them all. */
function compileRoutes (fastify: FastifyInstance, pending: Pending[], schemes: ReadonlyMap<string, SecurityScheme>, routes: WardenRoute[]): void {
  for (const entry of pending) {
    let requirement = entry.requirement
    if (requirement === undefined) {
      if (schemes.size === 0) throw new errors.WARDEN_ERR_UNKNOWN_SCHEME(entry.name, '(default: any)', 'none')
      // The schema object, as later onRoute hooks left it, is the one the route's context and
      // @fastify/swagger hold; the document is generated after this.
      requirement = entry.route.schema!.security = [...schemes.keys()].map((name) => ({ [name]: [] }))
    }
    entry.bind(compileRequirement(entry.name, requirement, schemes))
  }
  pending.length = 0
  const table = routeTable(fastify)
  // No routes listed although there are some: this Fastify cannot list them, fail closed.
  if (table.length === 0 && fastify.printRoutes() !== '(empty tree)') {
    throw new errors.WARDEN_ERR_UNGUARDED_ROUTE('*', 'cannot be checked: this version of Fastify does not list its routes to fastify-warden')
  }
  const open = unguarded(table)
  if (open !== undefined) throw open
  for (const route of table) {
    routes.push(
      Object.freeze({ method: route.method, url: route.url, security: route.schema?.security ?? [], documented: Object.keys(route.schema?.response ?? {}) })
    )
  }
}

const wardenPlugin: FastifyPluginAsync<WardenOptions> = async (fastify, opts) => {
  const options = checkOptions(opts)
  const schemes = new Map<string, SecurityScheme>()
  const pending: Pending[] = []
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
  guardRoutes(fastify, pending)
  fastify.addHook('onReady', function (done) {
    try {
      compileRoutes(fastify, pending, schemes, routes)
      done()
    } catch (err) {
      done(err as Error)
    }
  })
}

/** The core plugin: scheme registry, requirement compiler, `request.auth` and error replies. */
export const warden = fp(wardenPlugin, { fastify: '5.x', name: 'fastify-warden' })
export default warden
