import type { FastifyInstance, FastifySchema } from 'fastify'
import { PROBLEM_CONTENT_TYPE, PROBLEM_SCHEMA_ID, problemSchema } from './problem.js'
import { requiresScopes } from './requirement.js'
import { demandsScopes } from './scope-demands.js'
import type { SecurityRequirement } from './types.js'

export const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } }
const RESPONSE_400 = { description: 'Invalid input: the problem names the fields', content: problemContent }
const RESPONSE_401 = {
  description: 'Missing or invalid credentials',
  headers: { 'WWW-Authenticate': { type: 'string', maxLength: 4096, description: 'One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3)' } },
  content: problemContent
}
const RESPONSE_403 = {
  description: 'Valid credentials without the required scope',
  headers: { 'WWW-Authenticate': { type: 'string', maxLength: 4096, description: 'error="insufficient_scope" with the required scope (RFC 6750 §3.1)' } },
  content: problemContent
}

/** The problem schema the documented error replies refer to, added once whichever plugin comes first. */
export function addProblemSchema (fastify: FastifyInstance): void {
  if (fastify.getSchema(PROBLEM_SCHEMA_ID) === undefined) fastify.addSchema(problemSchema)
}

/** A copy of a route's responses to add to; without any, @fastify/swagger would document a default 200, so it stays. */
export function routeResponses (schema: FastifySchema | undefined): Record<string, unknown> {
  const declared = schema?.response as Record<string, unknown> | undefined
  return declared === undefined ? { 200: { description: 'Default Response' } } : { ...declared }
}

export const isPublicRequirement = (requirement: readonly SecurityRequirement[]): boolean => requirement.every((alt) => Object.keys(alt).length === 0)

/**
 * The route's schema with what the core answers documented: 400 when it validates input, 401
 * when it needs credentials, 403 when it needs scopes. `requirement` is undefined while it is
 * "any registered scheme" (no scopes).
 */
export function withAuthResponses (
  route: FastifySchema | undefined,
  requirement: readonly SecurityRequirement[] | undefined,
  isPublic: boolean
): FastifySchema {
  const schema = { ...route }
  if (requirement !== undefined) schema.security = requirement
  const validated = schema.body !== undefined || schema.querystring !== undefined || schema.params !== undefined || schema.headers !== undefined
  if (isPublic && !validated) return schema
  const response = routeResponses(route)
  // Input that fails its schema is a 400 problem naming the fields.
  if (validated) response[400] ??= RESPONSE_400
  if (!isPublic) response[401] ??= RESPONSE_401
  if (!isPublic && ((requirement !== undefined && requiresScopes(requirement)) || demandsScopes(route))) response[403] ??= RESPONSE_403
  schema.response = response
  return schema
}
