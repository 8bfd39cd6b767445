import type { FastifyRequest } from 'fastify'
import { authorizationCredentials } from './authorization.js'

/**
 * What the Model Context Protocol's TypeScript SDK calls `AuthInfo` (structurally the same, so no
 * dependency on the SDK): the SDK's server transport reads it from `req.auth` and hands it to
 * every tool as `extra.authInfo`.
 */
export interface McpAuthInfo {
  /** The access token (empty for a caller that did not present one: an API key, Basic). */
  token: string
  /** `client_id` (RFC 9068), else `azp`, else the API key's id, else the subject. */
  clientId: string
  scopes: string[]
  /** Seconds since the epoch (`exp`). */
  expiresAt?: number
  /** The RFC 8707 resource the token is for: its first audience that is an http(s) URL. */
  resource?: URL
  /** `scheme`, `subject`, the token's `claims` and the `user` of `request.auth`. */
  extra?: Record<string, unknown>
}

function resourceOf (aud: unknown): URL | undefined {
  for (const value of Array.isArray(aud) ? aud : [aud]) {
    if (typeof value !== 'string' || !URL.canParse(value)) continue
    const url = new URL(value)
    if (url.protocol === 'https:' || url.protocol === 'http:') return url
  }
  return undefined
}

/**
 * `request.auth` as the MCP SDK's `AuthInfo`, for `request.raw.auth` before the SDK's transport
 * handles the request; `undefined` for an anonymous caller (a route with `{}` among its alternatives).
 */
export function mcpAuthInfo (request: FastifyRequest): McpAuthInfo | undefined {
  const principal = request.auth
  if (principal === null) return undefined
  const claims = principal.claims
  const header = request.headers.authorization
  const token = claims === undefined ? '' : (authorizationCredentials(header, 'bearer') ?? authorizationCredentials(header, 'dpop') ?? '')
  const clientId = [claims?.client_id, claims?.azp, principal.apiKeyId, principal.subject].find((v): v is string => typeof v === 'string' && v !== '')!
  const info: McpAuthInfo = {
    token,
    clientId,
    scopes: [...principal.scopes],
    extra: { scheme: principal.scheme, subject: principal.subject, claims, user: principal.user }
  }
  if (typeof claims?.exp === 'number') info.expiresAt = claims.exp
  const resource = resourceOf(claims?.aud)
  if (resource !== undefined) info.resource = resource
  return info
}
