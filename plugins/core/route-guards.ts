import type { FastifyInstance, RouteOptions, onRequestHookHandler } from 'fastify'
import { errors } from '../errors.js'
import { compileRequirement, parseRequirement, type CompiledRoute } from './requirement.js'
import { kScopeDemands, parseScopeDemands, type ScopeDemandsHolder } from './scope-demands.js'
import { parseDemands } from './demands.js'
import { isPublicRequirement, withAuthResponses } from './responses.js'
import { routeGuard, type Outages } from './guard.js'
import { routeName, routeTable, type RouteEntry } from './route-table.js'
import type { SecurityRequirement, SecurityScheme } from './types.js'

// Each route's guard: put in place when the route is added (onRoute), bound at ready(), when every
// scheme is known.

/** A route and what it enforces, as `fastify.warden.routes` lists it. */
export interface WardenRoute {
  readonly method: string
  readonly url: string
  readonly security: readonly SecurityRequirement[]
  /** Status codes its schema documents. */
  readonly documented: readonly string[]
}

export const kDefaultSecurity = Symbol('fastify-warden.default-security')
export type Scoped = FastifyInstance & { [kDefaultSecurity]?: SecurityRequirement[] }

/** Marks the config of every route the core compiled; Fastify copies it into the route's context. */
const kGuarded = Symbol('fastify-warden.guarded')

/**
 * Routes the core never saw: registered before it (in the app or in a plugin loaded earlier),
 * or in a context outside the one it was registered in. Those that need authentication would be
 * served open, so they stop the app; public ones (`security: []`) are only listed.
 */
function unguarded (table: readonly RouteEntry[]): Error | undefined {
  // A HEAD route Fastify made from a GET is the GET's twin: the GET is checked. One declared as HEAD is checked itself.
  const gets = new Set(table.filter((r) => r.method === 'GET').map((r) => r.url))
  const twin = (r: RouteEntry): boolean => r.method === 'HEAD' && gets.has(r.url)
  const open = table.filter(
    (r) => r.config[kGuarded] !== true && !twin(r) && !(Array.isArray(r.schema?.security) && isPublicRequirement(r.schema.security))
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

export interface Pending {
  name: string
  requirement: SecurityRequirement[] | undefined
  route: RouteOptions
  hook: onRequestHookHandler
  bind: (compiled: CompiledRoute) => void
}

/** A route as the core read it: its `schema.security` then, as JSON. */
export interface Read {
  name: string
  route: RouteOptions
  security: string | undefined
}

/**
 * Every route added after the core: its requirement parsed (or the context's default), its
 * auth replies documented, and, unless it is public, the guard as its first onRequest hook.
 */
export function guardRoutes (fastify: FastifyInstance, pending: Pending[], read: Read[]): void {
  // Shared by the app's routes: an outage of a scheme is logged once, whichever routes meet it.
  const outages: Outages = new Map()
  fastify.addHook('onRoute', function (this: Scoped, route) {
    const name = routeName(route)
    const declared = route.schema?.security
    // undefined: "every registered scheme", known only once all plugins have loaded.
    const requirement = declared !== undefined ? parseRequirement(name, declared) : this[kDefaultSecurity]
    const isPublic = requirement !== undefined && isPublicRequirement(requirement)
    const holder: ScopeDemandsHolder = {}
    route.config = { ...route.config, [kGuarded]: true, [kScopeDemands]: holder } as typeof route.config
    route.schema = withAuthResponses(route.schema, requirement, isPublic)
    read.push({ name, route, security: JSON.stringify(route.schema.security) })
    if (isPublic) {
      if (parseDemands(name, route.schema) !== undefined || parseScopeDemands(name, route.schema) !== undefined) {
        throw new errors.WARDEN_ERR_REQUIREMENT(
          name,
          "is public (security: []) but asks for 'x-dpop', 'x-step-up' or 'x-scope-demands', which only a credential can meet"
        )
      }
      return
    }
    const guard = routeGuard(outages)
    pending.push({
      name,
      requirement,
      route,
      hook: guard.hook,
      bind: ({ evaluate, demand }) => {
        guard.bind(evaluate)
        holder.demand = demand
      }
    })
    const own = route.onRequest
    route.onRequest = own === undefined ? [guard.hook] : [guard.hook, ...((Array.isArray(own) ? own : [own]) as onRequestHookHandler[])]
  })
}

/**
 * Routes whose `schema.security` an onRoute hook added after the core changed: a guarded route
 * is enforced as it now reads, its replies documented again, so the route, the document and the
 * guard agree; a route that was public has no guard to enforce it with, so the app stops.
 */
function rereadChanged (read: Read[], pending: Pending[]): void {
  const guarded = new Map(pending.map((entry) => [entry.route, entry]))
  for (const { name, route, security } of read) {
    const now = route.schema?.security
    if (JSON.stringify(now) === security) continue
    const entry = guarded.get(route)
    if (entry === undefined) {
      throw new errors.WARDEN_ERR_REQUIREMENT(
        name,
        'schema.security was changed from public after fastify-warden read it (by an onRoute hook added after it): add that hook before fastify-warden, ' +
          'or declare the requirement on the route'
      )
    }
    entry.requirement = now === undefined ? undefined : parseRequirement(name, now)
    const requirement = entry.requirement ?? []
    Object.assign(route.schema!, withAuthResponses(route.schema, entry.requirement, isPublicRequirement(requirement)))
  }
  read.length = 0
}

/** At `ready()`: compile every guarded route's requirement, refuse unguarded routes, list them all. */
export function compileRoutes (
  fastify: FastifyInstance,
  pending: Pending[],
  read: Read[],
  schemes: ReadonlyMap<string, SecurityScheme>,
  routes: WardenRoute[]
): void {
  rereadChanged(read, pending)
  for (const entry of pending) {
    let requirement = entry.requirement
    if (requirement === undefined) {
      if (schemes.size === 0) throw new errors.WARDEN_ERR_UNKNOWN_SCHEME(entry.name, '(default: any)', 'none')
      // The schema object, as later onRoute hooks left it, is the one the route's context and
      // @fastify/swagger hold; the document is generated after this.
      requirement = entry.route.schema!.security = [...schemes.keys()].map((name) => ({ [name]: [] }))
    }
    // An onRoute hook added after the core may have replaced the route's onRequest hooks, the guard with them.
    const hooks = entry.route.onRequest
    if (!(Array.isArray(hooks) ? hooks.includes(entry.hook) : hooks === entry.hook)) {
      throw new errors.WARDEN_ERR_UNGUARDED_ROUTE(
        entry.name,
        "lost fastify-warden's guard: an onRoute hook added after it replaced the route's onRequest hooks (add to them instead)"
      )
    }
    const { schema } = entry.route
    entry.bind(compileRequirement(entry.name, requirement, schemes, parseDemands(entry.name, schema), parseScopeDemands(entry.name, schema)))
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
