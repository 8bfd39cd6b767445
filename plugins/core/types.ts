import type { FastifyRequest } from 'fastify'
import type { OpenAPIV3_1 } from 'openapi-types'

/**
 * Claims of a verified access token. Merge your own claims into it:
 *
 * @example
 * declare module 'fastify-warden' {
 *   interface WardenClaims { tenant_id: string }
 * }
 */
export interface WardenClaims {
  iss?: string
  sub?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  jti?: string
  /** Space-separated (RFC 9068); a list from some providers. Read `request.auth.scopes` instead. */
  scope?: string | string[]
  [claim: string]: unknown
}

/** What a scheme may attach as `request.auth.user`; merge your own user type into it. */
export interface WardenUser {
  [field: string]: unknown
}

/** The authenticated caller of a request, set by the core as `request.auth`. */
export interface AuthPrincipal {
  /** Name of the security scheme that authenticated the caller (its key in `securitySchemes`). */
  readonly scheme: string
  /** Stable identifier of the caller (a user id, a service name). */
  readonly subject: string
  /** Scopes the credential grants. */
  readonly scopes: readonly string[]
  /** Verified token claims, for token-based schemes. */
  readonly claims?: Readonly<WardenClaims>
  /** Id of the API key used, for API-key schemes. */
  readonly apiKeyId?: string
  /** Extra data the scheme's lookup returned about the caller. */
  readonly user?: Readonly<WardenUser>
}

/** A credential was presented but is not valid (bad signature, expired, unknown key, wrong password). */
export const INVALID_CREDENTIALS: unique symbol = Symbol('fastify-warden.invalid-credentials')

/**
 * What a scheme makes of a request: a principal, `INVALID_CREDENTIALS` when the request carries
 * a credential for this scheme that does not hold, or `null` when it carries none.
 */
export type AuthOutcome = AuthPrincipal | typeof INVALID_CREDENTIALS | null

/** One object of an OpenAPI Security Requirement list: scheme name → scopes (keys are AND). */
export type SecurityRequirement = { [securityLabel: string]: readonly string[] }

/** The three answers a scheme's challenge can carry (RFC 6750 §3). */
export type ChallengeKind = 'missing' | 'invalid' | 'insufficient_scope'

/**
 * A security scheme as the core sees it. Scheme plugins build one and register it with
 * `fastify.warden.addScheme()`; the core does everything else (evaluation, scopes, replies).
 */
export interface SecurityScheme {
  /** Key under `components.securitySchemes` and in route requirements. */
  readonly name: string
  /** The OpenAPI Security Scheme Object for the document. */
  readonly openapi: OpenAPIV3_1.SecuritySchemeObject
  /** Scopes this scheme can grant; a route asking for another one fails at start-up. */
  readonly scopes: ReadonlySet<string>
  /** The `WWW-Authenticate` challenge for a reply of this kind (`scope` for insufficient_scope). */
  challenge(kind: ChallengeKind, scope?: string): string
  /** Turn a request into a principal, or say why not. Must not throw for a bad credential. */
  authenticate(request: FastifyRequest): AuthOutcome | PromiseLike<AuthOutcome>
}
