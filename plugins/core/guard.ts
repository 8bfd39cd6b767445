import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { Denial, type Decision, type Evaluator } from './requirement.js'
import { securityEvent } from './events.js'
import { PROBLEM_CONTENT_TYPE, frozenProblem, sendProblem } from './problem.js'
import { isThrottled } from './errors.js'
import { DependencyUnavailable } from './callbacks.js'
import { countAuthentication, endAuthenticationSpan, startAuthenticationSpan } from './telemetry.js'
import type { Span } from '@opentelemetry/api'

/** Seconds a client should wait before trying again when a check's dependency is down. */
const RETRY_AFTER = 5
const UNAVAILABLE_BODY = frozenProblem(503, 'The service cannot check credentials right now; try again shortly.')
const CLOSING_BODY = frozenProblem(503, 'The server is shutting down; try again.')

/** A scheme's dependency failed: 503 with Retry-After, never a 401 that blames the credential, never a 200. A throttled login: 429. */
function unavailable (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction, err: unknown, span: Span | undefined): void {
  if (!(err instanceof DependencyUnavailable)) {
    endAuthenticationSpan(span, 'unknown', 'unavailable')
    next(err as Error)
    return
  }
  const outcome = isThrottled(err.cause) ? 'throttled' : 'unavailable'
  countAuthentication(err.scheme, outcome)
  endAuthenticationSpan(span, err.scheme, outcome)
  if (isThrottled(err.cause)) {
    // A password scheme refused the login before checking it (a lock, an address out of budget).
    reply.header('retry-after', err.cause.retryAfter)
    sendProblem(reply, 429, `Too many failed logins; retry in ${err.cause.retryAfter} seconds.`)
    return
  }
  securityEvent(request, 'auth.unavailable', { scheme: err.scheme, err: err.cause }, `security scheme '${err.scheme}' could not check the credential`)
  reply.code(503).header('retry-after', RETRY_AFTER).type(PROBLEM_CONTENT_TYPE).send(UNAVAILABLE_BODY)
}

function settle (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction, decision: Decision, span: Span | undefined): void {
  if (decision instanceof Denial) {
    countAuthentication(decision.scheme, decision.outcome)
    endAuthenticationSpan(span, decision.scheme, decision.outcome)
    if (decision.status === 403) securityEvent(request, 'auth.scope.denied', { route: request.routeOptions.url, challenge: decision.challenges[0] })
    reply.code(decision.status)
      .header('www-authenticate', decision.challenges.length === 1 ? decision.challenges[0] : decision.challenges)
      .type(PROBLEM_CONTENT_TYPE)
      .send(decision.body)
    return
  }
  if (decision !== null) {
    countAuthentication(decision.scheme, 'success')
    endAuthenticationSpan(span, decision.scheme, 'success')
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
export function routeGuard (): { hook: onRequestHookHandler, bind: (evaluate: Evaluator) => void } {
  let evaluate: Evaluator | undefined
  const hook = function authenticate (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    const span = startAuthenticationSpan()
    let decision: ReturnType<Evaluator>
    try {
      decision = (evaluate as Evaluator)(request)
    } catch (err) {
      unavailable(request, reply, next, err, span)
      return
    }
    if (decision instanceof Promise) {
      decision.then((d) => settle(request, reply, next, d, span), (err: unknown) => { unavailable(request, reply, next, err, span) })
    } else {
      settle(request, reply, next, decision, span)
    }
  }
  return { hook, bind: (e) => { evaluate = e } }
}

/**
 * With secureServerOptions() Fastify leaves requests during close() to the app: new requests on
 * kept-alive connections get a problem+json 503 with Retry-After and the security headers.
 */
export function answerWhileClosing (fastify: FastifyInstance): void {
  let closing = false
  fastify.addHook('preClose', (done) => { closing = true; done() })
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    reply.code(503).header('retry-after', 1).header('connection', 'close').type(PROBLEM_CONTENT_TYPE).send(CLOSING_BODY)
  })
}
