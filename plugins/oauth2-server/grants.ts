import type { FastifyReply, FastifyRequest } from 'fastify'
import { securityEvent } from '../core/events.js'
import type { AccessTokens } from '../oauth2-bearer/options.js'
import type { CallingClient } from './clients.js'
import { checkUserGrant, type Login, type UserGrant } from './login.js'
import { oauthError, parameters, requestedScopes, required, NO_STORE } from './protocol.js'
import { OAuthFailure } from '../errors.js'
import type { ProofBinding, Sessions, TokenOwner, TokenResponse } from './sessions.js'
import type { ServerSettings } from './options.js'

/**
 * A request's DPoP proof, verified for it (RFC 9449 §4.3) and not yet used: the JWK SHA-256
 * thumbprint of its key, and `use`, called once the request is granted, right before tokens are
 * issued or anything is rotated or revoked. So a refused request takes no room in the replay
 * cache, and of requests with one proof, at most one is granted: `use` throws an `OAuthFailure`
 * (`invalid_dpop_proof`) for a proof used before.
 */
export interface RequestProof {
  readonly jkt: string
  use (): Promise<void>
}

/** The request's DPoP proof, undefined when it carries none; throws an `OAuthFailure` for a proof it refuses. */
export type ProofOf = (request: FastifyRequest) => RequestProof | undefined

/** What the grants share: the settings, the scheme's signer, sessions, login, client authentication and DPoP proofs. */
export interface GrantContext {
  readonly settings: ServerSettings
  readonly tokens: AccessTokens
  readonly sessions: Sessions
  readonly login: Login
  readonly authenticateClient: (request: FastifyRequest, params: Record<string, string>) => CallingClient
  readonly proofOf: ProofOf
}

type Wanted = readonly string[] | undefined

/** A token request, read: its parameters, the client, the scopes asked for and its DPoP proof. */
interface TokenRequest {
  params: Record<string, string>
  client: CallingClient
  wanted: Wanted
  proof: RequestProof | undefined
}

/**
 * A proof's key binds the access token (RFC 9449 §6), and a public client's refresh tokens too
 * (§5): a confidential client proves itself at each refresh, so its refresh tokens are not bound.
 */
const binding = ({ client, proof }: TokenRequest): ProofBinding =>
  proof === undefined ? {} : { jkt: proof.jkt, bindRefresh: !client.confidential, use: proof.use }

/** What a grant may carry: the requested scopes it allows (all of them when none were asked for), only the scheme's. */
function grantable (ctx: Pick<GrantContext, 'tokens'>, allowed: readonly string[], wanted: Wanted): string[] {
  return allowed.filter((s, i) => ctx.tokens.scopes.has(s) && allowed.indexOf(s) === i && (wanted === undefined || wanted.includes(s)))
}

/**
 * Tokens for a user's grant (the password grant's, and `fastify.oauth2Server.issueTokens`): its
 * scopes narrowed to the wanted ones, its `acr` and `auth_time` (now, when the grant has none),
 * bound to a DPoP key as `key` says, a session when sessions are on; undefined when the
 * credential the login checked changed meanwhile.
 */
export async function issueTokens (
  ctx: Pick<GrantContext, 'tokens' | 'sessions' | 'settings'>,
  request: FastifyRequest,
  grant: UserGrant,
  clientId: string,
  wanted: Wanted,
  key: ProofBinding = {}
): Promise<TokenResponse | undefined> {
  const scopes = grantable(ctx, grant.scopes, wanted)
  const session = await ctx.sessions.start(
    {
      subject: grant.subject,
      scopes,
      clientId,
      authTime: grant.authTime ?? Math.floor(ctx.settings.now() / 1000),
      ...(grant.acr === undefined ? {} : { acr: grant.acr }),
      ...(grant.claims === undefined ? {} : { claims: grant.claims }),
      ...(grant.credential === undefined ? {} : { credential: grant.credential }),
      ...key
    },
    true
  )
  if (session === undefined) {
    securityEvent(request, 'auth.login.failed', { subject: grant.subject, reason: 'the credential changed while it was checked' })
    return undefined
  }
  const scope = scopes.join(' ')
  securityEvent(request, 'auth.login.succeeded', { subject: grant.subject, scope, client_id: clientId })
  return session
}

async function passwordGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, token: TokenRequest): Promise<FastifyReply> {
  const { params, client, wanted } = token
  const grant = await ctx.login(required(params, 'username'), required(params, 'password'), request)
  // One answer for an unknown user, a wrong password, a disabled account and a password changed meanwhile.
  const refused = new OAuthFailure('invalid_grant', 'Invalid username or password.')
  if (grant === null) throw refused
  await token.proof?.use()
  const session = await issueTokens(ctx, request, grant, client.id, wanted, binding(token))
  if (session === undefined) throw refused
  return await reply.send(session)
}

async function refreshGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, token: TokenRequest): Promise<FastifyReply> {
  const refreshToken = required(token.params, 'refresh_token')
  return await ctx.sessions.serially(refreshToken, async () => await refreshSerially(ctx, request, reply, refreshToken, token))
}

async function refreshSerially (
  ctx: GrantContext,
  request: FastifyRequest,
  reply: FastifyReply,
  refreshToken: string,
  token: TokenRequest
): Promise<FastifyReply> {
  const { client, wanted, proof } = token
  const jkt = proof?.jkt
  const { findSubject } = ctx.settings
  const invalid = new OAuthFailure('invalid_grant', 'The refresh token is invalid, expired or revoked.')
  const presented = await ctx.sessions.find(refreshToken)
  // RFC 6749 §6: a refresh token is bound to the client it was issued to.
  if (presented === null || presented.clientId !== client.id) throw invalid
  // RFC 9449 §5: a family's current refresh token, once bound, needs a proof of its key, checked
  // before anything is rotated: without the key, a stolen token does not refresh. A token rotated
  // already (perhaps before the family was bound, by whoever bound it) goes on to reuse detection,
  // which answers a retry only with the key and revokes the family for a reuse, key or not.
  // An unbound public family is bound at its first refresh with a proof, in the store's rotation
  // (§5: a refresh token issued to a public client that presents a valid proof MUST be bound).
  if (presented.rotatedAt === null && presented.jkt !== null && presented.jkt !== jkt) {
    const reason = jkt === undefined ? 'a bound refresh token without a DPoP proof' : 'a refresh token bound to another DPoP key'
    securityEvent(request, 'auth.failed', { scheme: 'oauth2Server', reason, subject: presented.subject, session: presented.familyId })
    throw invalid
  }
  // RFC 6749 §6: the scope may narrow, never widen; a wider one is refused before the token is
  // rotated, so the client's refresh token stays usable. A rotated token goes on to rotation,
  // which tells a retry from a reuse.
  if (presented.rotatedAt === null && wanted !== undefined && wanted.some((s) => !presented.scope.split(' ').includes(s))) {
    throw new OAuthFailure('invalid_scope', 'The scope is wider than the one granted.')
  }
  const answer = await ctx.sessions.refresh(
    refreshToken,
    presented,
    async (family) => {
      const granted = family.scope.split(' ').filter(Boolean)
      if (findSubject === undefined) return grantable(ctx, granted, wanted)
      const found = await findSubject(family.subject, request)
      const today = checkUserGrant(request, 'findSubject', found, ctx.tokens.scopes, ctx.settings.roles)
      // Gone, disabled, or a credential newer than the one the session was started with: it ends.
      if (today === null || (today.credential !== undefined && family.credential !== null && today.credential > family.credential)) return undefined
      return grantable(
        ctx,
        granted.filter((s) => today.scopes.includes(s)),
        wanted
      )
    },
    request,
    binding(token)
  )
  if (answer === undefined) throw invalid
  return await reply.send(answer)
}

async function clientCredentialsGrant (ctx: GrantContext, request: FastifyRequest, reply: FastifyReply, token: TokenRequest): Promise<FastifyReply> {
  const { client, wanted } = token
  if (!client.confidential) throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401)
  if (client.scopes === undefined) throw new OAuthFailure('unauthorized_client', 'This client may not use client_credentials.')
  await token.proof?.use()
  const scopes = grantable(ctx, client.scopes, wanted)
  securityEvent(request, 'auth.login.succeeded', { subject: client.id, scope: scopes.join(' '), client_id: client.id, grant_type: 'client_credentials' })
  // No user authenticated, so no auth_time or acr; no refresh token, so only the access token is bound.
  return await reply.send((await ctx.sessions.start({ subject: client.id, scopes, clientId: client.id, ...binding(token) }, false)) as TokenResponse)
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
      // The proof checked after the cheap checks and before any password is checked; used once the grant holds.
      const token: TokenRequest = { params, client, wanted, proof: ctx.proofOf(request) }
      if (grant === 'password') return await passwordGrant(ctx, request, reply, token)
      if (grant === 'refresh_token') return await refreshGrant(ctx, request, reply, token)
      return await clientCredentialsGrant(ctx, request, reply, token)
    } catch (err) {
      return await oauthError(request, reply, err)
    }
  }
}

/**
 * RFC 7009 §2.1: a token is revoked only for the client it was issued to, and a session bound to
 * a DPoP key only with a proof of that key (as it refreshes, RFC 9449 §5): else 400
 * `unauthorized_client`, nothing revoked. The client authenticated (or is public, which has no
 * credentials to get wrong): it is not `invalid_client`, it may not revoke this token.
 */
async function mayRevoke (request: FastifyRequest, client: CallingClient, proof: RequestProof | undefined, owner: TokenOwner): Promise<void> {
  const another = owner.clientId !== client.id
  if (!another && (owner.jkt === null || proof?.jkt === owner.jkt)) {
    if (owner.jkt !== null) await proof?.use()
    return
  }
  const reason = another
    ? 'a token of another client'
    : proof === undefined ? 'a bound refresh token without a DPoP proof' : 'a refresh token bound to another DPoP key'
  const session = owner.session === undefined ? {} : { session: owner.session }
  securityEvent(request, 'auth.failed', { scheme: 'oauth2Server', reason, subject: owner.subject, ...session })
  const description = another ? 'The token was not issued to this client.' : 'The token is bound to a DPoP key: revoke it with a proof of that key.'
  throw new OAuthFailure('unauthorized_client', description)
}

/** RFC 7009 revocation: 200 for every well-formed request, known token or not, unless the token is not the caller's to revoke. */
export function revokeHandler (ctx: GrantContext): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async function revoke (request, reply) {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      const client = ctx.authenticateClient(request, params)
      const token = required(params, 'token')
      const proof = ctx.proofOf(request)
      await ctx.sessions.revoke(token, params.token_type_hint, request, async (owner) => await mayRevoke(request, client, proof, owner))
      return await reply.code(200).send()
    } catch (err) {
      return await oauthError(request, reply, err)
    }
  }
}
