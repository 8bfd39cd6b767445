import type { FastifyContextConfig, FastifyInstance, FastifySchema, RouteOptions } from 'fastify'

/** One route of the app's router, whoever registered it and whenever. */
export interface RouteEntry {
  readonly method: string
  readonly url: string
  readonly schema: FastifySchema | undefined
  /** The route's config as Fastify copied it (symbol-keyed marks of `onRoute` hooks included). */
  readonly config: FastifyContextConfig & Record<symbol, unknown>
}

export function routeName (route: Pick<RouteOptions, 'method' | 'url'>): string {
  return `${Array.isArray(route.method) ? route.method.join(',') : route.method} ${route.url}`
}

interface RouterRoute {
  method: string
  path: string
  store?: { schema?: FastifySchema, config?: FastifyContextConfig }
}

/**
 * Every route in the app's router. `onRoute` only sees routes registered after the hook, and
 * Fastify has no public list of routes, so a plugin registered before the core could add routes
 * it never hears of. The router does know them: `printRoutes()` hands each route (with its
 * context, which holds the schema) to the `buildPrettyMeta` function it assigns to the options
 * object it was given; a setter on that object takes the function and wraps it. The printed
 * text is thrown away.
 *
 * Callers must treat an empty answer for an app that has routes as "cannot tell" and fail
 * closed; the core does.
 */
export function routeTable (fastify: FastifyInstance): RouteEntry[] {
  const entries: RouteEntry[] = []
  for (const method of fastify.supportedMethods) {
    let build: ((route: RouterRoute) => unknown) | undefined
    const options = { method, includeMeta: true, commonPrefix: false } as Record<string, unknown>
    Object.defineProperty(options, 'buildPrettyMeta', {
      set (fn: (route: RouterRoute) => unknown) { build = fn },
      get () {
        return (route: RouterRoute) => {
          entries.push({ method: route.method, url: route.path, schema: route.store?.schema, config: (route.store?.config ?? {}) as RouteEntry['config'] })
          return build === undefined ? {} : build(route)
        }
      }
    })
    fastify.printRoutes(options)
  }
  return entries
}
