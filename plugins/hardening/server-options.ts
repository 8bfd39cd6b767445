import AjvCompiler from '@fastify/ajv-compiler'
import { STATUS_CODES, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyHttpOptions, FastifyReply, FastifyServerOptions } from 'fastify'
import { API_HEADERS } from './api-headers.js'
import { PROBLEM_CONTENT_TYPE, frozenProblem } from '../core/problem.js'
import { requestIdOptions } from './request-id.js'

const BAD_URL = frozenProblem(400, 'The request URL is not valid.')
const REQUEST_TIMEOUT = 30_000

/** Answers Node gives before any route (RFC 9457 bodies, the security headers, the connection closed). */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, frozenProblem(408, 'The request did not arrive in time.')],
  HPE_HEADER_OVERFLOW: [431, frozenProblem(431, 'The request headers are too large.')]
}
const MALFORMED: [number, string] = [400, frozenProblem(400, 'The request is not valid HTTP.')]
const HEADER_LINES = Object.entries({ ...API_HEADERS, 'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8`, connection: 'close' })
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('')

function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  // Stryker disable next-line all: equivalent, a reset or destroyed socket takes no answer either way (Node's own handler returns here too)
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  // Stryker disable next-line StringLiteral: equivalent, any key that is no code finds no entry
  const [status, body] = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED
  // Stryker disable next-line ConditionalExpression: equivalent, writing to a socket no longer writable is a no-op before destroy()
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${HEADER_LINES}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  socket.destroy()
}

type ValidatorFactory = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>

/**
 * Fastify's validator with type coercion for the parts that arrive as text (querystring, params,
 * headers) and none for JSON bodies: `true`, `[500]` or `"42"` are not a number there.
 */
function strictBodies (): ValidatorFactory {
  type Options = { customOptions?: Record<string, unknown> }
  type Compile = (route: { httpPart?: string }) => unknown
  const pool = AjvCompiler() as unknown as (externalSchemas: unknown, options: Options) => Compile
  const factory = (externalSchemas: unknown, options: Options): Compile => {
    const text = pool(externalSchemas, options)
    const json = pool(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } })
    return (route) => (route.httpPart === 'body' ? json(route) : text(route))
  }
  return factory as unknown as ValidatorFactory
}

/**
 * The Fastify server options a secure API wants, to spread into `Fastify({ ...secureServerOptions(), … })`:
 * - the caller's `X-Request-ID` when well-formed, as `request_id` in every log line (`requestIdOptions()`);
 * - no type coercion of JSON bodies (`true`, `[500]` and `"42"` are not numbers there);
 * - `__proto__` and `constructor.prototype` keys are a 400, never a pollution;
 * - a malformed URL (`/x/%ZZ?api_key=…`) is a problem+json 400 with the security headers, echoing nothing;
 * - during `close()` the core answers new requests on kept-alive connections with a problem+json
 *   503 and `Retry-After` (Fastify's own plain 503 is turned off);
 * - a request must arrive whole within 30 s (`requestTimeout`, and Node's `headersTimeout`, which
 *   must not exceed it or Node never checks the first; Fastify's default is none, so a client
 *   sending a body a byte at a time held its connection for ever): for uploads that take longer,
 *   spread your own `requestTimeout` and `http: { headersTimeout }` after these;
 * - what Node refuses before any route (a request too slow, a malformed request line, headers too
 *   large) is a problem+json 408, 400 or 431 with the security headers, then the connection closes.
 */
export function secureServerOptions (): FastifyHttpOptions<Server> {
  return {
    ...requestIdOptions(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: false,
    requestTimeout: REQUEST_TIMEOUT,
    http: { headersTimeout: REQUEST_TIMEOUT },
    clientErrorHandler,
    schemaController: { compilersFactory: { buildValidator: strictBodies() } },
    frameworkErrors (_error, request, reply) {
      // Fastify's default answer echoes the URL, query string (and its credentials) included.
      void (reply as FastifyReply).headers(API_HEADERS).header('x-request-id', request.id).code(400).type(PROBLEM_CONTENT_TYPE).send(BAD_URL)
    }
  }
}
