import AjvCompiler from '@fastify/ajv-compiler'
import type { FastifyReply, FastifyServerOptions } from 'fastify'
import { API_HEADERS } from './core/api-headers.js'
import { PROBLEM_CONTENT_TYPE, frozenProblem } from './core/problem.js'
import { requestIdOptions } from './request-id.js'

const BAD_URL = frozenProblem(400, 'The request URL is not valid.')

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
    return (route) => route.httpPart === 'body' ? json(route) : text(route)
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
 *   503 and `Retry-After` (Fastify's own plain 503 is turned off).
 */
export function secureServerOptions (): FastifyServerOptions {
  return {
    ...requestIdOptions(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: false,
    schemaController: { compilersFactory: { buildValidator: strictBodies() } },
    frameworkErrors (_error, request, reply) {
      // Fastify's default answer echoes the URL, query string (and its credentials) included.
      void (reply as FastifyReply).headers(API_HEADERS).header('x-request-id', request.id).code(400).type(PROBLEM_CONTENT_TYPE).send(BAD_URL)
    }
  }
}
