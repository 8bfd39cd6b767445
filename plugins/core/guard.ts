import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { Denial, sendDenial } from './denial.js'
import type { Decision, Evaluator } from './requirement.js'
import { securityEvent } from './events.js'
import { PROBLEM_CONTENT_TYPE, frozenProblem, sendProblem } from './problem.js'
import { isThrottled } from '../errors.js'
import { DependencyUnavailable } from '../errors.js'
import { endAuthenticationSpan, reportAuthentication, startAuthenticationSpan } from './telemetry.js'
import type { Span } from '@opentelemetry/api'

/** Seconds a client should wait before trying again when a check's dependency is down. */
const RETRY_AFTER = 5
const UNAVAILABLE_BODY = frozenProblem(503, 'The service cannot check credentials right now; try again shortly.')
const CLOSING_BODY = frozenProblem(503, 'The server is shutting down; try again.')

/**
 * The schemes of one app whose dependency is failing now (or one issuer of a scheme with several:
 * its keys), and since when (ms): an outage is one error line with its cause when it starts and one
 * info line when it answers again; the requests refused in between are logged at debug, without
 * the stack. Another issuer's tokens, served meanwhile, say nothing of this one.
 */
export type Outages = Map<string, { readonly since: number, readonly scheme: string, readonly issuer?: string }>

/** The issuer whose keys a scheme could not get (its error says so), for the outage to be that issuer's. */
function issuerOf (err: DependencyUnavailable): string | undefined {
  const issuer = (err.cause as { issuer?: unknown } | undefined)?.issuer
  return typeof issuer === 'string' ? issuer : undefined
}

const outageKey = (scheme: string, issuer: string | undefined): string => issuer === undefined ? scheme : `${scheme} ${issuer}`

function recovered (request: FastifyRequest, outages: Outages, key: string): void {
  const outage = outages.get(key)
  if (outage === undefined) return
  outages.delete(key)
  const { since, scheme, issuer } = outage
  request.log.info(
    { event: 'auth.available', scheme, ...(issuer === undefined ? {} : { issuer }), down_ms: Date.now() - since },
    `security scheme '${scheme}' checks credentials again${issuer === undefined ? '' : ` (issuer ${issuer})`}`
  )
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
  const issuer = issuerOf(err)
  const key = outageKey(err.scheme, issuer)
  const names = { scheme: err.scheme, ...(issuer === undefined ? {} : { issuer }) }
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
    if (outages.size > 0) {
      recovered(request, outages, decision.scheme)
      const iss = decision.claims?.iss
      if (typeof iss === 'string') recovered(request, outages, outageKey(decision.scheme, iss))
    }
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
