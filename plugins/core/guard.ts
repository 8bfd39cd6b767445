import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { Denial, sendDenial } from './denial.js'
import type { Decision, Evaluator } from './requirement.js'
import { securityEvent } from './events.js'
import { PROBLEM_CONTENT_TYPE, frozenProblem, sendProblem } from './problem.js'
import { DependencyUnavailable, isThrottled } from '../errors.js'
import { endAuthenticationSpan, reportAuthentication, startAuthenticationSpan } from './telemetry.js'
import type { Span } from '@opentelemetry/api'

/** Seconds a client should wait before trying again when a check's dependency is down. */
const RETRY_AFTER = 5
const UNAVAILABLE_BODY = frozenProblem(503, 'The service cannot check credentials right now; try again shortly.')
const CLOSING_BODY = frozenProblem(503, 'The server is shutting down; try again.')

/**
 * The schemes of one app whose dependency is failing now (or one dependency of a scheme: one
 * issuer's keys, the DPoP replay cache), and since when (ms): an outage is one error line with its
 * cause when it starts and one info line when that dependency answers again (a request it served);
 * the requests refused in between are logged at debug, without the stack. A request that never
 * needed it (another issuer's token, a plain bearer token) says nothing of it.
 */
export type Outages = Map<string, { readonly since: number, readonly scheme: string, readonly dependency?: string, readonly issuer?: string }>

/** Which of a scheme's dependencies failed, when its error says (`dependency`, and `issuer` for one issuer's keys). */
function faultOf (err: DependencyUnavailable): { dependency?: string, issuer?: string } {
  const { dependency, issuer } = (err.cause ?? {}) as { dependency?: unknown, issuer?: unknown }
  return {
    ...(typeof dependency === 'string' ? { dependency } : {}),
    ...(typeof issuer === 'string' ? { issuer } : {})
  }
}

const outageKey = (scheme: string, dependency: string | undefined): string => dependency === undefined ? scheme : `${scheme} ${dependency}`

/** The dependencies each request's scheme used and that answered (one issuer's keys, the DPoP replay cache). */
const answeredBy = new WeakMap<FastifyRequest, string[]>()

/** Note that a dependency of the scheme checking this request answered (`dependency` as its errors name it). */
export function dependencyAnswered (request: FastifyRequest, dependency: string): void {
  const noted = answeredBy.get(request)
  if (noted === undefined) answeredBy.set(request, [dependency])
  else noted.push(dependency)
}

function recovered (request: FastifyRequest, outages: Outages, key: string): void {
  const outage = outages.get(key)
  if (outage === undefined) return
  outages.delete(key)
  const { since, ...names } = outage
  request.log.info(
    { event: 'auth.available', ...names, down_ms: Date.now() - since },
    `security scheme '${names.scheme}' checks credentials again${names.dependency === undefined ? '' : ` (${names.dependency})`}`
  )
}

/** A request the scheme admitted: the scheme answered, and so did the dependencies it noted. */
function admitted (request: FastifyRequest, outages: Outages, scheme: string): void {
  recovered(request, outages, scheme)
  for (const dependency of answeredBy.get(request) ?? []) recovered(request, outages, outageKey(scheme, dependency))
}

/** A scheme's dependency failed: 503 with Retry-After, never a 401 that blames the credential, never a 200. A throttled login: 429. */
function unavailable (
  request: FastifyRequest,
  reply: FastifyReply,
  next: HookHandlerDoneFunction,
  err: unknown,
  span: Span | undefined,
  outages: Outages
): void {
  if (!(err instanceof DependencyUnavailable)) {
    endAuthenticationSpan(span, 'unknown', 'unavailable')
    next(err as Error)
    return
  }
  const outcome = isThrottled(err.cause) ? 'throttled' : 'unavailable'
  reportAuthentication(span, err.scheme, outcome)
  if (isThrottled(err.cause)) {
    // A password scheme refused the login before checking it (a lock, an address out of budget).
    reply.header('retry-after', err.cause.retryAfter)
    sendProblem(reply, 429, `Too many failed logins; retry in ${err.cause.retryAfter} seconds.`)
    return
  }
  const fault = faultOf(err)
  const key = outageKey(err.scheme, fault.dependency)
  const names = { scheme: err.scheme, ...fault }
  if (outages.has(key)) {
    request.log.debug(
      { event: 'auth.unavailable', ...names, reason: (err.cause as Error | undefined)?.message },
      `security scheme '${err.scheme}' could not check the credential`
    )
  } else {
    outages.set(key, { since: Date.now(), ...names })
    securityEvent(request, 'auth.unavailable', { ...names, err: err.cause }, `security scheme '${err.scheme}' could not check the credential`)
  }
  reply.code(503).header('retry-after', RETRY_AFTER).type(PROBLEM_CONTENT_TYPE).send(UNAVAILABLE_BODY)
}

function settle (
  request: FastifyRequest,
  reply: FastifyReply,
  next: HookHandlerDoneFunction,
  decision: Decision,
  span: Span | undefined,
  outages: Outages
): void {
  if (decision instanceof Denial) {
    reportAuthentication(span, decision.scheme, decision.outcome)
    if (decision.status === 403) securityEvent(request, 'auth.scope.denied', { route: request.routeOptions.url, challenge: decision.challenges[0] })
    sendDenial(reply, decision)
    return
  }
  if (decision !== null) {
    if (outages.size > 0) admitted(request, outages, decision.scheme)
    reportAuthentication(span, decision.scheme, 'success')
  } else {
    endAuthenticationSpan(span, 'none', 'missing')
  }
  request.auth = decision
  next()
}

/**
 * The first onRequest hook of a guarded route: it runs the route's compiled requirement (bound
 * at `ready()`, when every scheme is known) and sets `request.auth`, or answers 401/403/503.
 */
export function routeGuard (outages: Outages): { hook: onRequestHookHandler; bind: (evaluate: Evaluator) => void } {
  let evaluate: Evaluator | undefined
  const hook = function authenticate (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    const span = startAuthenticationSpan()
    let decision: ReturnType<Evaluator>
    try {
      decision = (evaluate as Evaluator)(request)
    } catch (err) {
      unavailable(request, reply, next, err, span, outages)
      return
    }
    if (decision instanceof Promise) {
      decision.then(
        (d) => settle(request, reply, next, d, span, outages),
        (err: unknown) => {
          unavailable(request, reply, next, err, span, outages)
        }
      )
    } else {
      settle(request, reply, next, decision, span, outages)
    }
  }
  return {
    hook,
    bind: (e) => {
      evaluate = e
    }
  }
}

/**
 * With secureServerOptions() Fastify leaves requests during close() to the app: new requests on
 * kept-alive connections get a problem+json 503 with Retry-After and the security headers.
 */
export function answerWhileClosing (fastify: FastifyInstance): void {
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    done()
  })
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    reply.code(503).header('retry-after', 1).header('connection', 'close').type(PROBLEM_CONTENT_TYPE).send(CLOSING_BODY)
  })
}
