import type { FastifyReply } from 'fastify'
import { PROBLEM_CONTENT_TYPE, frozenProblem } from './problem.js'

/** A refusal, built once per route at start-up and sent as is. */
export class Denial {
  constructor (
    readonly status: 401 | 403,
    readonly challenges: string[],
    readonly body: string,
    /** For metrics and spans: the scheme at fault ('none' when nothing was presented) and why. */
    readonly scheme: string,
    readonly outcome: 'missing' | 'invalid' | 'insufficient_scope',
    /** Headers of the reply beside the challenges (a scheme's `CredentialRefusal`). */
    readonly headers?: Readonly<Record<string, string>>
  ) {}
}

export const MISSING_BODY = frozenProblem(401, 'Authentication is required to access this resource.')
export const INVALID_BODY = frozenProblem(401, 'The credentials presented are invalid or have expired.')
export const SCOPE_BODY = frozenProblem(403, 'The credentials presented do not grant access to this resource.')

/** Send a refusal: its status, its challenges (one `WWW-Authenticate` header each), its headers, its problem. */
export function sendDenial (reply: FastifyReply, denial: Denial): void {
  if (denial.headers !== undefined) reply.headers(denial.headers)
  reply
    .code(denial.status)
    .header('www-authenticate', denial.challenges.length === 1 ? denial.challenges[0] : denial.challenges)
    .type(PROBLEM_CONTENT_TYPE)
    .send(denial.body)
}
