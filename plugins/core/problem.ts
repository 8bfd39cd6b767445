import type { FastifyReply } from 'fastify'
import { STATUS_CODES } from 'node:http'

/** RFC 9457 problem details, as every error reply of fastify-warden carries them. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  [extension: string]: unknown
}

/** The shared schema id of a problem body (added to the app by the core). */
export const PROBLEM_SCHEMA_ID = 'Problem'

export const problemSchema = {
  $id: PROBLEM_SCHEMA_ID,
  type: 'object',
  description: 'Problem details (RFC 9457)',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri-reference', maxLength: 2048, description: 'A URI reference that identifies the problem type' },
    title: { type: 'string', maxLength: 256, description: 'Short summary of the problem type' },
    status: { type: 'integer', format: 'int32', minimum: 400, maximum: 599 },
    detail: { type: 'string', maxLength: 4096, description: 'Explanation of this occurrence' },
    instance: { type: 'string', format: 'uri-reference', maxLength: 2048 }
  },
  additionalProperties: true
} as const

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Build a problem body; `type` is `about:blank`, so `title` is the HTTP status phrase (RFC 9457 §4.2.1). */
export function problem (status: number, detail: string, extensions?: Record<string, unknown>): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, ...extensions }
}

/** A problem body serialised once, for replies sent on the hot path. */
export function frozenProblem (status: number, detail: string): string {
  return JSON.stringify(problem(status, detail))
}

/**
 * Answer with a problem: `detail` (the problem built around it, `type` `about:blank`) or a whole
 * `Problem`. Text is never sent as if it were the JSON of one.
 */
export function sendProblem (reply: FastifyReply, status: number, detail: string | Problem): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(typeof detail === 'string' ? problem(status, detail) : detail)
}
