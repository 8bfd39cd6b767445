import type { FastifyRequest } from 'fastify'
import type { WardenClaims } from './types.js'

/**
 * What the Model Context Protocol's TypeScript SDK calls `AuthInfo` (structurally the same, so no
 * dependency on the SDK): the SDK's server transport reads it from `req.auth` and hands it to
 * every tool as `extra.authInfo`.
 */
export interface McpAuthInfo {
  /** The access token `oauth2Bearer` verified for this caller; empty for any other credential (an API key, Basic). */
  token: string
  /** `client_id` (RFC 9068), else `azp`, else the API key's id, else the subject. */
  clientId: string
  scopes: string[]
  /** Seconds since the epoch (`exp`). */
  expiresAt?: number
  /** The RFC 8707 resource the token is for (see `mcpAuthInfo`). */
  resource?: URL
  /** `scheme`, `subject`, the token's `claims` and the `user` of `request.auth`. */
  extra?: Record<string, unknown>
}

/**
 * The token each set of verified claims came from, noted by the scheme that verified it (the
 * claims object, frozen, is shared by the principals made of it: cached, with their user): never
 * read back from the request, where another header could stand beside the credential that let it in.
 */
const verifiedTokens = new WeakMap<Readonly<WardenClaims>, string>()

/** Note the token verified claims came from (for `mcpAuthInfo`). */
export function noteToken (claims: Readonly<WardenClaims>, token: string): void {
  verifiedTokens.set(claims, token)
}

/** An http(s) URL, parsed once; undefined for anything else. */
function httpUrl (value: unknown): URL | undefined {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined
  return url !== undefined && /^https?:$/.test(url.protocol) ? url : undefined
}

/**
 * The resource of a token: `resource` when its audiences include it; without it, its audience
 * when exactly one is an http(s) URL (with several, which one this server is cannot be told).
 */
function resourceOf (aud: unknown, resource: string | undefined): URL | undefined {
  const audiences = Array.isArray(aud) ? aud : [aud]
  if (resource !== undefined) return audiences.includes(resource) ? new URL(resource) : undefined
  const urls = audiences.map(httpUrl).filter((url) => url !== undefined)
  return urls.length === 1 ? urls[0] : undefined
}

/**
 * `request.auth` as the MCP SDK's `AuthInfo`, for `request.raw.auth` before the SDK's transport
 * handles the request; `undefined` for an anonymous caller (a route with `{}` among its
 * alternatives). `resource`: this server's RFC 8707 identifier (its `resourceMetadata.resource`),
 * set as the info's `resource` when the token is for it.
 */
export function mcpAuthInfo (request: FastifyRequest, options: { resource?: string } = {}): McpAuthInfo | undefined {
  const principal = request.auth
  if (principal === null) return undefined
  const claims = principal.claims
  const clientId = [claims?.client_id, claims?.azp, principal.apiKeyId, principal.subject].find((v): v is string => typeof v === 'string' && v !== '')!
  const info: McpAuthInfo = {
    token: (claims === undefined ? undefined : verifiedTokens.get(claims)) ?? '',
    clientId,
    scopes: [...principal.scopes],
    extra: { scheme: principal.scheme, subject: principal.subject, claims, user: principal.user }
  }
  if (typeof claims?.exp === 'number') info.expiresAt = claims.exp
  const resource = resourceOf(claims?.aud, options.resource)
  if (resource !== undefined) info.resource = resource
  return info
}
