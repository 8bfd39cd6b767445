import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { denials, refusedBy, type Denial, type Denials } from './denial.js'
import { SCOPE } from './challenge.js'
import {
  CredentialRefusal,
  INVALID_CREDENTIALS,
  type AuthOutcome,
  type AuthPrincipal,
  type RouteDemands,
  type SecurityRequirement,
  type SecurityScheme
} from './types.js'
import { afterCallback } from './callback-results.js'
import { forRoute, takesTokens } from './demands.js'
import { DependencyUnavailable } from '../errors.js'
import { compileScopeDemands, type ScopeDemand } from './scope-demands.js'

/** What evaluating a route's requirement gives: a principal, `null` (anonymous allowed) or a refusal. */
export type Decision = AuthPrincipal | null | Denial

export type Evaluator = (request: FastifyRequest) => Decision | Promise<Decision>

interface Term {
  readonly scheme: number
  readonly scopes: readonly string[]
}

const SCHEME_NAME = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Check that `security` is an OpenAPI Security Requirement list and copy it.
 * Only its shape is checked here; scheme and scope names are resolved at `ready()`.
 */
export function parseRequirement (route: string, security: unknown): SecurityRequirement[] {
  if (!Array.isArray(security)) throw new errors.WARDEN_ERR_REQUIREMENT(route, 'schema.security must be an array of Security Requirement objects')
  return security.map((alternative: unknown, i) => {
    if (alternative === null || typeof alternative !== 'object' || Array.isArray(alternative)) {
      throw new errors.WARDEN_ERR_REQUIREMENT(route, `schema.security [${i}] must be an object of scheme name to scopes`)
    }
    const copy: Record<string, string[]> = {}
    for (const [name, scopes] of Object.entries(alternative)) {
      if (!SCHEME_NAME.test(name)) throw new errors.WARDEN_ERR_REQUIREMENT(route, `schema.security [${i}] has an invalid scheme name '${name}'`)
      if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) {
        throw new errors.WARDEN_ERR_REQUIREMENT(route, `schema.security [${i}].${name} must be an array of scope names`)
      }
      copy[name] = [...new Set(scopes as string[])]
    }
    return copy
  })
}

/** Whether any alternative asks for a scope (the route can answer 403). */
export function requiresScopes (requirement: readonly SecurityRequirement[]): boolean {
  return requirement.some((alt) => Object.values(alt).some((scopes) => scopes.length > 0))
}

function hasScopes (principal: AuthPrincipal, scopes: readonly string[]): boolean {
  for (let i = 0; i < scopes.length; i++) {
    if (!principal.scopes.includes(scopes[i])) return false
  }
  return true
}

/**
 * What a scheme answered, held to the contract (a user's scheme too): anything but null,
 * INVALID_CREDENTIALS or a principal is a bug in the scheme, a 500 that names it in the log,
 * never an admission.
 */
function checked (scheme: string, outcome: unknown): AuthOutcome {
  if (outcome === null || outcome === INVALID_CREDENTIALS || outcome instanceof CredentialRefusal) return outcome
  const principal = outcome as Partial<AuthPrincipal> | undefined
  if (typeof principal !== 'object' || typeof principal.subject !== 'string' || principal.subject === '' || !Array.isArray(principal.scopes)) {
    throw new TypeError(`security scheme '${scheme}': authenticate() must answer null, INVALID_CREDENTIALS or a principal { subject, scopes }`)
  }
  return outcome as AuthOutcome
}

const settledAs = <T>(value: T): T => value

/**
 * Run a scheme; whatever it throws or rejects with (a callback, a store, a provider) becomes
 * DependencyUnavailable naming it (a 503); what it answers is checked against the contract.
 */
function attempt (scheme: SecurityScheme, request: FastifyRequest): AuthOutcome | Promise<AuthOutcome> {
  let outcome: AuthOutcome | Promise<AuthOutcome>
  try {
    outcome = afterCallback(scheme.authenticate(request), settledAs)
  } catch (err) {
    throw new DependencyUnavailable(scheme.name, err)
  }
  // Only afterCallback's own promise, when the scheme answered with a thenable.
  return outcome instanceof Promise
    ? outcome.then(
      (settled) => checked(scheme.name, settled),
      (err: unknown) => {
        throw new DependencyUnavailable(scheme.name, err)
      }
    )
    : checked(scheme.name, outcome)
}

interface Resolved {
  /** The schemes the requirement names, each once, in order of appearance. */
  schemes: SecurityScheme[]
  /** The alternatives that need credentials; terms index `schemes`. */
  alternatives: Term[][]
  /** `{}` among the alternatives: anonymous callers are let through. */
  optional: boolean
}

/** The requirement against the registered schemes; throws, naming the route, when a scheme or scope is unknown. */
function resolve (
  route: string,
  requirement: readonly SecurityRequirement[],
  registry: ReadonlyMap<string, SecurityScheme>,
  demands: RouteDemands | undefined
): Resolved {
  const schemes: SecurityScheme[] = []
  const bound = new Map<SecurityScheme, SecurityScheme>()
  const indexOf = (name: string): number => {
    const registered = registry.get(name)
    if (registered === undefined) {
      throw new errors.WARDEN_ERR_UNKNOWN_SCHEME(route, name, [...registry.keys()].join(', ') || 'none')
    }
    let scheme = bound.get(registered)
    if (scheme === undefined) {
      // The scopes every alternative naming it asks of it, for the scheme's own refusals (a step-up,
      // a proof at fault): not knowing yet which way in the token takes, name none rather than another's.
      const asked = requirement.filter((alt) => Object.hasOwn(alt, name)).map((alt) => [...alt[name]].sort().join(' '))
      const scope = asked.every((scopes) => scopes === asked[0]) ? asked[0] : ''
      const own = scope === '' ? demands : { ...demands, scope }
      scheme = own === undefined ? registered : forRoute(route, registered, own)
      bound.set(registered, scheme)
    }
    let i = schemes.indexOf(scheme)
    if (i === -1) i = schemes.push(scheme) - 1
    return i
  }
  let optional = false
  const alternatives: Term[][] = []
  for (const alt of requirement) {
    const names = Object.keys(alt)
    if (names.length === 0) {
      optional = true
      continue
    }
    alternatives.push(
      names.map((name) => {
        const scheme = indexOf(name)
        for (const scope of alt[name]) {
          if (!schemes[scheme].scopes.has(scope)) throw new errors.WARDEN_ERR_UNKNOWN_SCOPE(route, name, scope)
        }
        return { scheme, scopes: alt[name] }
      })
    )
  }
  if (demands?.dpop !== undefined) takesTokens(route, schemes)
  return { schemes, alternatives, optional }
}

/** The common case, one scheme without alternatives: no per-request allocation. */
function oneScheme (scheme: SecurityScheme, scopes: readonly string[], { missing, invalid, insufficient }: Denials): Evaluator {
  const decide = (outcome: AuthOutcome): Decision => {
    if (outcome === null) return missing
    if (outcome === INVALID_CREDENTIALS) return invalid[0]
    if (outcome instanceof CredentialRefusal) return refusedBy(missing, [scheme], 0, outcome)
    return hasScopes(outcome, scopes) ? outcome : insufficient[0]
  }
  return (request) => {
    const outcome = attempt(scheme, request)
    return outcome instanceof Promise ? outcome.then(decide) : decide(outcome)
  }
}

/** Which alternative let a request's caller in (for its scope demands): its index in the route's alternatives. */
type Admitted = (request: FastifyRequest, alternative: number) => void

/** Alternatives and combinations: the first alternative all of whose schemes accept the caller with their scopes. */
function anyOf ({ schemes, alternatives, optional }: Resolved, { missing, invalid, insufficient }: Denials, admitted?: Admitted): Evaluator {
  return async (request) => {
    // Each scheme runs at most once per request, and only when an alternative needs it.
    const outcomes: Array<AuthOutcome | undefined> = []
    const outcomeOf = async (i: number): Promise<AuthOutcome> => {
      let outcome = outcomes[i]
      if (outcome === undefined) {
        outcome = await attempt(schemes[i], request)
        outcomes[i] = outcome
      }
      return outcome
    }

    for (let a = 0; a < alternatives.length; a++) {
      const alt = alternatives[a]
      let principal: AuthPrincipal | undefined
      let satisfied = true
      for (const term of alt) {
        const outcome = await outcomeOf(term.scheme)
        if (outcome === null || outcome === INVALID_CREDENTIALS || outcome instanceof CredentialRefusal || !hasScopes(outcome, term.scopes)) {
          satisfied = false
          break
        }
        principal ??= outcome
      }
      if (satisfied) {
        admitted?.(request, a)
        return principal as AuthPrincipal
      }
    }

    // Refused: answer about what the caller actually presented, so every scheme is consulted.
    for (let i = 0; i < schemes.length; i++) await outcomeOf(i)
    const bad = outcomes.findIndex((o) => o === INVALID_CREDENTIALS || o instanceof CredentialRefusal)
    if (bad !== -1) {
      const outcome = outcomes[bad]
      return outcome instanceof CredentialRefusal ? refusedBy(missing, schemes, bad, outcome) : invalid[bad]
    }
    if (optional) {
      // A valid credential without the scopes is still admitted as itself, by its scheme's first alternative.
      const i = outcomes.findIndex((o) => o !== null)
      if (i === -1) return null
      admitted?.(request, alternatives.findIndex((alt) => alt.some((t) => t.scheme === i)))
      return outcomes[i] as AuthPrincipal
    }
    const short = alternatives.findIndex((alt) => alt.every((t) => outcomes[t.scheme] !== null))
    return short === -1 ? missing : insufficient[short]
  }
}

/** A route's requirement compiled: the guard's evaluator, and `request.demandScopes()` when it declares `'x-scope-demands'`. */
export interface CompiledRoute {
  readonly evaluate: Evaluator
  readonly demand?: ScopeDemand
}

function evaluator (resolved: Resolved, replies: Denials, admitted?: Admitted): Evaluator {
  const { schemes, alternatives, optional } = resolved
  // Two shortcuts of anyOf, which decides these cases the same, only slower (a promise per request):
  // Stryker disable next-line ConditionalExpression: equivalent, anyOf answers null for no alternative
  if (alternatives.length === 0) return () => null
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent, anyOf decides one scheme alike
  if (!optional && alternatives.length === 1 && alternatives[0].length === 1) return oneScheme(schemes[0], alternatives[0][0].scopes, replies)
  return anyOf(resolved, replies, admitted)
}

/**
 * Resolve a route's requirement against the registered schemes and compile it into one
 * function (and its scope demands). Throws, naming the route, when a scheme or scope is unknown.
 */
export function compileRequirement (
  route: string,
  requirement: readonly SecurityRequirement[],
  registry: ReadonlyMap<string, SecurityScheme>,
  demands?: RouteDemands,
  scopeDemands?: ReadonlyMap<string, readonly string[]>
): CompiledRoute {
  const resolved = resolve(route, requirement, registry, demands)
  const replies = denials(resolved)
  if (scopeDemands === undefined) return { evaluate: evaluator(resolved, replies) }
  // Only routes with demands note which alternative let each caller in (the only one, without a note).
  const admittedBy = new WeakMap<FastifyRequest, number>()
  const evaluate = evaluator(resolved, replies, (request, alternative) => admittedBy.set(request, alternative))
  return { evaluate, demand: compileScopeDemands(route, scopeDemands, resolved, (request) => admittedBy.get(request) ?? 0) }
}
