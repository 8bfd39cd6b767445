import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { CONTROL, SCOPE } from './challenge.js'
import { securityEvent } from './events.js'
import { Denial, SCOPE_BODY, missingDenial, scopeParam, type RouteSchemes } from './denial.js'
import type { AuthPrincipal } from './types.js'

// Scopes a route demands once its body is read ('x-scope-demands'): which of its operations a
// request asks for is in the body (a JSON-RPC method, an MCP tool's name), after the guard has run.
// The route declares them by label, so the document shows them; the handler calls
// `request.demandScopes(label)`, answered as the guard answers.

/** Labels name an operation within the route (`tools/call write_file`): printable, bounded. */
const LABEL_MAX = 128

/** A route's `'x-scope-demands'` (label → scopes), undefined when it declares none; throws, naming the route, when malformed. */
export function parseScopeDemands (route: string, schema: object | undefined): ReadonlyMap<string, readonly string[]> | undefined {
  const declared = (schema as Readonly<Record<string, unknown>> | undefined)?.['x-scope-demands']
  if (declared === undefined) return undefined
  const fault = (what: string): Error => new errors.WARDEN_ERR_REQUIREMENT(route, `'x-scope-demands' ${what}`)
  if (declared === null || typeof declared !== 'object' || Array.isArray(declared)) throw fault('must be an object of label to scopes')
  const demands = new Map<string, readonly string[]>()
  for (const [label, scopes] of Object.entries(declared)) {
    if (label.length === 0 || label.length > LABEL_MAX || CONTROL.test(label)) {
      throw fault(`has a label that is empty, longer than ${LABEL_MAX} characters or holds control characters`)
    }
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) throw fault(`'${label}' must be an array of scope names`)
    demands.set(label, [...new Set(scopes as string[])])
  }
  if (demands.size === 0) throw fault('must name at least one label')
  return demands
}

/** Whether any label demands a scope (the route can answer 403). */
export function demandsScopes (schema: object | undefined): boolean {
  const declared = (schema as Readonly<Record<string, unknown>> | undefined)?.['x-scope-demands']
  return declared !== null && typeof declared === 'object' && Object.values(declared).some((scopes) => Array.isArray(scopes) && scopes.length > 0)
}

/**
 * Thrown by `request.demandScopes()` when the caller lacks a demanded scope: `WARDEN_ERR_SCOPE_DEMAND`
 * with the status and `WWW-Authenticate` header the route's guard would answer with. The core's
 * error handler sends it exactly as the guard does (problem+json); Fastify's own sends its status
 * and headers too.
 */
export class ScopeDemandRefused extends errors.WARDEN_ERR_SCOPE_DEMAND {
  override readonly statusCode: 401 | 403
  readonly headers: Readonly<Record<string, string | string[]>>
  constructor (
    /** The reply, as the route's guard sends it (`sendDenial`). */
    readonly denial: Denial
  ) {
    super(denial.status === 403 ? 'The credentials presented do not grant access to this resource.' : 'Authentication is required to access this resource.')
    this.name = 'ScopeDemandRefused'
    this.statusCode = denial.status
    this.headers = { 'www-authenticate': denial.challenges.length === 1 ? denial.challenges[0] : denial.challenges }
  }
}

/** A route's demands, checked against `request.auth`: one label, or several (a JSON-RPC batch). */
export type ScopeDemand = (request: FastifyRequest, labels: string | readonly string[]) => void

function hasAll (principal: AuthPrincipal, scopes: readonly string[]): boolean {
  return scopes.every((scope) => principal.scopes.includes(scope))
}

/**
 * Compile a route's demands against its schemes (as the route uses them): each scope must be one
 * a scheme of the route declares, and each alternative of the route must name one scheme (in an
 * AND, which principal must hold a demanded scope?), or `ready()` fails naming it. A 403 names
 * every scope the request needs of the caller, those of the alternative that let it in and every
 * label's (RFC 6750 §3.1): a client that asks for exactly those (the MCP SDK replaces its scopes
 * with the challenge's) then holds all it needs, a batch's tools all at once. An anonymous caller
 * (an optional route) gets the route's 401 with the labels' scopes added, unless they demand nothing.
 */
export function compileScopeDemands (
  route: string,
  demands: ReadonlyMap<string, readonly string[]>,
  resolved: RouteSchemes,
  admittedBy: (request: FastifyRequest) => number
): ScopeDemand {
  const { schemes, alternatives } = resolved
  if (alternatives.some((alt) => alt.length > 1)) {
    throw new errors.WARDEN_ERR_REQUIREMENT(
      route,
      "asks for 'x-scope-demands' but an alternative of its security names several schemes: name one per alternative"
    )
  }
  for (const [label, scopes] of demands) {
    for (const scope of scopes) {
      if (!schemes.some((scheme) => scheme.scopes.has(scope))) {
        throw new errors.WARDEN_ERR_REQUIREMENT(route, `'x-scope-demands' '${label}' asks for scope '${scope}', which none of the route's schemes declares`)
      }
    }
  }
  // Refusals are built when they happen (rare, and a batch's labels are any combination).
  const refused = (alternative: number, wanted: readonly string[]): Denial => {
    const [{ scheme, scopes }] = alternatives[alternative]
    const challenge = schemes[scheme].challenge('insufficient_scope', scopeParam([...scopes, ...wanted]))
    return new Denial(403, [challenge], SCOPE_BODY, schemes[scheme].name, 'insufficient_scope')
  }

  return (request, labels) => {
    const list: readonly unknown[] = typeof labels === 'string' ? [labels] : Array.isArray(labels) ? labels : [labels]
    const wanted: string[] = []
    for (const label of list) {
      const scopes = typeof label === 'string' ? demands.get(label) : undefined
      if (scopes === undefined) throw new errors.WARDEN_ERR_REQUIREMENT(route, `has no 'x-scope-demands' label '${String(label).slice(0, LABEL_MAX)}'`)
      wanted.push(...scopes)
    }
    if (wanted.length === 0) return
    const principal = request.auth
    if (principal === null) throw new ScopeDemandRefused(missingDenial(resolved, wanted))
    // With the scopes of the way in: a caller an optional route admitted as itself has not got them.
    const alternative = admittedBy(request)
    if (hasAll(principal, wanted) && hasAll(principal, alternatives[alternative][0].scopes)) return
    const denial = refused(alternative, wanted)
    const demand = typeof labels === 'string' ? labels : list
    securityEvent(request, 'auth.scope.denied', { route: request.routeOptions.url, challenge: denial.challenges[0], demand })
    throw new ScopeDemandRefused(denial)
  }
}

/** Where a guarded route's config holds its compiled demands (Fastify copies the config into the route's context). */
export const kScopeDemands = Symbol('fastify-warden.scope-demands')
export interface ScopeDemandsHolder {
  demand?: ScopeDemand
}

/**
 * `request.demandScopes(label)`: the route's demand of that label, met or thrown. A route without
 * `'x-scope-demands'` (or a public one) has none, and saying otherwise is the handler's bug, a 500.
 */
export function demandScopes (this: FastifyRequest, labels: string | readonly string[]): void {
  const holder = (this.routeOptions.config as unknown as Record<symbol, ScopeDemandsHolder | undefined>)[kScopeDemands]
  if (holder?.demand === undefined) {
    throw new errors.WARDEN_ERR_REQUIREMENT(`${this.method} ${this.routeOptions.url ?? ''}`, "declares no 'x-scope-demands' for request.demandScopes()")
  }
  holder.demand(this, labels)
}
