import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { problem, sendProblem, type Problem } from './problem.js'
import { isThrottled } from '../errors.js'
import { sendDenial } from './denial.js'
import { ScopeDemandRefused } from './scope-demands.js'

export interface FieldError {
  /** Where the field is: `body`, `querystring`, `params` or `headers`. */
  in: string
  /** JSON pointer to the field within it (`/username`); empty for the whole part. */
  field: string
  message: string
}

function fieldErrors (error: FastifyError): FieldError[] {
  const where = error.validationContext ?? 'body'
  return (error.validation ?? []).map((v) => {
    // A missing or unexpected property is reported on its parent; name the property itself.
    const params = v.params as { missingProperty?: string, additionalProperty?: string }
    if (v.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
      return { in: where, field: `${v.instancePath}/${params.additionalProperty}`, message: 'is not allowed' }
    }
    const missing = v.keyword === 'required' ? params.missingProperty : undefined
    return { in: where, field: missing === undefined ? v.instancePath : `${v.instancePath}/${missing}`, message: v.message ?? v.keyword }
  })
}

/** The 400 problem that names each invalid field: validation errors, and handlers' own checks. */
export function invalidFields (errors: FieldError[]): Problem {
  const detail = 'Invalid request: ' + errors.map((e) => `${e.in}${e.field.replace(/\//g, '.')} ${e.message}`).join('; ')
  return problem(400, detail, { errors })
}

/** Seconds a client should wait when a dependency (the database) did not answer. */
const UNAVAILABLE_RETRY_AFTER = 5

/**
 * Error replies as problem details (RFC 9457): validation errors are a 400 naming each field,
 * a refusal of `request.demandScopes()` the route guard's 403 (or 401),
 * a throttled login (`WARDEN_ERR_THROTTLED`) a 429 with `Retry-After`, a dependency that did not
 * answer (`WARDEN_ERR_UNAVAILABLE`) a 503 with `Retry-After`, other client errors keep their
 * status and Fastify's message, and server errors say nothing of their cause (it is logged
 * instead).
 */
export function problemErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation !== undefined) {
    return sendProblem(reply, 400, invalidFields(fieldErrors(error)))
  }
  if (error instanceof ScopeDemandRefused) {
    // request.demandScopes() refused the caller: answered as the route's guard answers.
    sendDenial(reply, error.denial)
    return reply
  }
  if (isThrottled(error)) {
    // A password check refused before it ran (a lock, an address out of failed logins), from a handler of yours.
    reply.header('retry-after', error.retryAfter)
    return sendProblem(reply, 429, `Too many failed logins; retry in ${error.retryAfter} seconds.`)
  }
  if (error.code === 'WARDEN_ERR_UNAVAILABLE') {
    // Not a bug: the outage is logged once where it is seen (an Availability), not per request.
    request.log.debug({ reason: error.message }, 'dependency unavailable')
    reply.header('retry-after', UNAVAILABLE_RETRY_AFTER)
    return sendProblem(reply, 503, 'A service this request needs is unavailable; try again shortly.')
  }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, status, problem(status, 'The server could not complete the request.'))
  }
  return sendProblem(reply, status, problem(status, error.message))
}
