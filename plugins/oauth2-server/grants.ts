import type { FastifyReply, FastifyRequest } from 'fastify'
import { problem, sendProblem } from '../core/problem.js'
import { securityEvent } from '../core/events.js'
import type { AccessTokens } from '../oauth2-bearer/options.js'
import type { CallingClient } from './clients.js'
import { checkUserGrant, type Login } from './login.js'
import { OAuthFailure, oauthError, parameters, requestedScopes, required, NO_STORE } from './protocol.js'
import type { Sessions } from './refresh-rotation.js'
import type { ServerSettings } from './options.js'

/** What the grants share: the settings, the scheme's signer, sessions, login and client authentication. */
export interface GrantContext {
  readonly settings: ServerSettings
  readonly tokens: AccessTokens
  readonly sessions: Sessions
  readonly login: Login
  readonly authenticateClient: (request: FastifyRequest, params: Record<string, string>) => CallingClient
}

type Wanted = readonly string[] | undefined

/** What a grant may carry: the requested scopes it allows (all of them when none were asked for), only the scheme's. */
function grantable (ctx: GrantContext, allowed: readonly string[], wanted: Wanted): string[] {
  return allowed.filter((s, i) => ctx.tokens.scopes.has(s) && allowed.indexOf(s) === i && (wanted === undefined || wanted.includes(s)))
}

async function passwordGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, params: Record<string, string>, client: CallingClient, wanted: Wanted): Promise<FastifyReply> {
  const result = await ctx.login(required(params, 'username'), required(params, 'password'), request)
  if (result !== null && 'lockedFor' in result) {
    reply.header('retry-after', result.lockedFor)
    return await sendProblem(reply, 429, problem(429, `Too many failed logins for this account; retry in ${result.lockedFor} seconds.`))
  }
  // One answer for an unknown user, a wrong password and a disabled account.
  if (result === null) throw new OAuthFailure('invalid_grant', 'Invalid username or password.')
  const { grant } = result
  const scopes = grantable(ctx, grant.scopes, wanted)
  securityEvent(request, 'auth.login.succeeded', { subject: grant.subject, scope: scopes.join(' '), client_id: client.id })
  return await reply.send(await ctx.sessions.start({ subject: grant.subject, scopes, clientId: client.id, ...(grant.claims === undefined ? {} : { claims: grant.claims }) }, true))
}

async function refreshGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, params: Record<string, string>, client: CallingClient, wanted: Wanted): Promise<FastifyReply> {
  const { findSubject } = ctx.settings
  const refreshToken = required(params, 'refresh_token')
  const invalid = new OAuthFailure('invalid_grant', 'The refresh token is invalid, expired or revoked.')
  // RFC 6749 §6: the scope may narrow, never widen; a wider one is refused before the token is
  // rotated, so the client's refresh token stays usable.
  const family = await ctx.sessions.find(refreshToken)
  // RFC 6749 §6: a refresh token is bound to the client it was issued to.
  if (family !== null && family.clientId !== client.id) throw invalid
  if (family !== null && wanted !== undefined && wanted.some((s) => !family.scope.split(' ').includes(s))) {
    throw new OAuthFailure('invalid_scope', 'The scope is wider than the one granted.')
  }
  const answer = await ctx.sessions.refresh(refreshToken, async (rotated) => {
    const granted = rotated.scope.split(' ').filter(Boolean)
    if (findSubject === undefined) return grantable(ctx, granted, wanted)
    const today = checkUserGrant(request, 'findSubject', await findSubject(rotated.subject, request), ctx.tokens.scopes)
    return today === null ? undefined : grantable(ctx, granted.filter((s) => today.scopes.includes(s)), wanted)
  }, request)
  if (answer === undefined) throw invalid
  return await reply.send(answer)
}

async function clientCredentialsGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, client: CallingClient, wanted: Wanted): Promise<FastifyReply> {
  if (!client.confidential) throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401)
  if (client.scopes === undefined) throw new OAuthFailure('unauthorized_client', 'This client may not use client_credentials.')
  const scopes = grantable(ctx, client.scopes, wanted)
  securityEvent(request, 'auth.login.succeeded', { subject: client.id, scope: scopes.join(' '), client_id: client.id, grant_type: 'client_credentials' })
  return await reply.send(await ctx.sessions.start({ subject: client.id, scopes, clientId: client.id }, false))
}

/** The token endpoint's handler (RFC 6749 §4.3, §4.4, §6); every failure is an RFC 6749 §5.2 error. */
export function tokenHandler (ctx: GrantContext): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async function token (request, reply) {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      const grant = required(params, 'grant_type')
      if (!ctx.settings.grants.includes(grant)) throw new OAuthFailure('unsupported_grant_type', `Grant type ${grant} is not supported.`)
      const client = ctx.authenticateClient(request, params)
      const wanted = requestedScopes(params, ctx.tokens.scopes)
      if (grant === 'password') return await passwordGrant(ctx, request, reply, params, client, wanted)
      if (grant === 'refresh_token') return await refreshGrant(ctx, request, reply, params, client, wanted)
      return await clientCredentialsGrant(ctx, request, reply, client, wanted)
    } catch (err) {
      return await oauthError(request, reply, err)
    }
  }
}

/** RFC 7009 revocation: 200 for every well-formed request, known token or not. */
export function revokeHandler (ctx: GrantContext): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async function revoke (request, reply) {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      ctx.authenticateClient(request, params)
      await ctx.sessions.revoke(required(params, 'token'), params.token_type_hint, request)
      return await reply.code(200).send()
    } catch (err) {
      return await oauthError(request, reply, err)
    }
  }
}
