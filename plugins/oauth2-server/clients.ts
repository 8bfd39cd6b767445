import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { authorizationCredentials, decodeBasic } from '../core/authorization.js'
import { basicChallenge } from '../core/challenge.js'
import { safeEqual } from '../core/compare.js'
import { OAuthFailure } from '../errors.js'

/** A confidential client of the token endpoint. */
export interface OAuth2Client {
  /** The client's secret, at least 16 characters; only its SHA-256 digest is kept. */
  secret: string
  /** Scopes the client may get for itself with `grant_type=client_credentials`; none: that grant is refused. */
  scopes?: readonly string[]
}

/** Who is calling the token endpoint: an authenticated confidential client, or a public one. */
export interface CallingClient {
  id: string
  /** A confidential client that proved its secret. */
  confidential: boolean
  /** What `client_credentials` may grant it; undefined for public clients. */
  scopes?: readonly string[]
}

/** The longest client id taken (a UUID or a URL-like id fits many times). */
const MAX_CLIENT_ID = 255
const UNSAFE_ID = /[\p{Cc}\p{Cf}\u2028\u2029]/u

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

/**
 * The client id and secret of `Basic` credentials (decoded by the core, as for any user). What is
 * the token endpoint's own, RFC 6749 §2.3.1: id and secret are form-encoded before the Basic
 * encoding, and either part may be empty (Swagger UI sends ":" for a public client): empty is absent.
 */
function basicClient (encoded: string): { id?: string; secret?: string } | undefined {
  const basic = decodeBasic(encoded)
  if (basic === undefined) return undefined
  try {
    const id = decodeURIComponent(basic.username.replace(/\+/g, ' '))
    const secret = decodeURIComponent(basic.password.replace(/\+/g, ' '))
    return { ...(id === '' ? {} : { id }), ...(secret === '' ? {} : { secret }) }
  } catch {
    return undefined
  }
}

/**
 * RFC 6749 §2.3: client credentials in HTTP Basic or in the body, never both; optional for
 * public clients, whose id (if any) is taken as given. Secrets are compared as SHA-256 digests
 * in constant time.
 */
export function clientAuthenticator (
  clients: Readonly<Record<string, OAuth2Client>>,
  scopes: ReadonlySet<string>,
  realm: string,
  publicClientId: string
): (request: FastifyRequest, params: Record<string, string>) => CallingClient {
  const registry = new Map<string, { digest: Buffer; scopes?: readonly string[] }>()
  for (const [id, client] of Object.entries(clients)) {
    if (typeof client?.secret !== 'string' || client.secret.length < 16) {
      throw new errors.WARDEN_ERR_OPTION(`clients.${id}.secret`, 'must be a string of at least 16 characters')
    }
    if (client.scopes !== undefined && (!Array.isArray(client.scopes) || client.scopes.some((s) => !scopes.has(s)))) {
      throw new errors.WARDEN_ERR_OPTION(`clients.${id}.scopes`, 'must be an array of scopes the scheme grants')
    }
    registry.set(id, { digest: sha256(client.secret), ...(client.scopes === undefined ? {} : { scopes: Object.freeze([...client.scopes]) }) })
  }
  const challenge = basicChallenge(realm)('invalid')

  return function authenticateClient (request, params) {
    const encoded = authorizationCredentials(request.headers.authorization, 'basic')
    const basic = encoded !== undefined
    if (basic && (params.client_secret !== undefined || params.client_id !== undefined)) {
      throw new OAuthFailure('invalid_request', 'Client credentials must be sent in one way only.')
    }
    let id: string | undefined = params.client_id
    let secret: string | undefined = params.client_secret
    if (basic) {
      const credentials = basicClient(encoded)
      if (credentials === undefined) throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401, challenge)
      id = credentials.id
      secret = credentials.secret
    }
    if (id === undefined) {
      if (secret !== undefined) throw new OAuthFailure('invalid_request', 'client_secret needs a client_id.')
      return { id: publicClientId, confidential: false }
    }
    // Checked as decoded (Basic parts are form-encoded): a public client's id becomes the token's
    // client_id claim, a stored session's column and a logged field, so a bounded length and no
    // control or format character (C0, C1, bidi overrides, line separators).
    if (id.length > MAX_CLIENT_ID || UNSAFE_ID.test(id)) {
      throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401, basic ? challenge : undefined)
    }
    const expected = registry.get(id)
    if (expected === undefined && secret === undefined) return { id, confidential: false }
    if (expected === undefined || secret === undefined || !safeEqual(expected.digest, sha256(secret))) {
      throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401, basic ? challenge : undefined)
    }
    return { id, confidential: true, ...(expected.scopes === undefined ? {} : { scopes: expected.scopes }) }
  }
}
