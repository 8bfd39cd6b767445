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
 * A credential refused with an answer of its own: the scheme's challenge for this request (an
 * RFC 9470 step-up demand, an RFC 9449 nonce to use) in place of its `invalid` one, the problem's
 * `detail`, and headers to send with the 401 (`DPoP-Nonce`). Otherwise it is `INVALID_CREDENTIALS`.
 */
export class CredentialRefusal {
  constructor (
    /** The scheme's `WWW-Authenticate` challenge (or challenges, comma-separated) for this reply. */
    readonly challenge: string,
    /** The reply's problem `detail`: what the client can do about it, nothing of the credential. */
    readonly detail: string,
    readonly headers?: Readonly<Record<string, string>>
  ) {}
}

/**
 * What a scheme makes of a request: a principal, `INVALID_CREDENTIALS` (or a `CredentialRefusal`)
 * when the request carries a credential for this scheme that does not hold, or `null` when it
 * carries none.
 */
export type AuthOutcome = AuthPrincipal | typeof INVALID_CREDENTIALS | CredentialRefusal | null

/** How a route uses DPoP (RFC 9449): only DPoP-bound tokens with a proof, either kind, or bearer tokens only. */
export type DpopMode = 'required' | 'allowed' | 'off'

/**
 * What a route asks of a token beyond its scopes, declared in its schema beside `security`:
 * `'x-dpop'` and `'x-step-up'` (RFC 9470: an authentication context class among `acrValues`
 * and/or a login at most `maxAge` seconds old).
 */
export interface RouteDemands {
  readonly dpop?: DpopMode
  readonly stepUp?: { readonly acrValues?: readonly string[]; readonly maxAge?: number }
  /**
   * The scopes the route asks of this scheme (space-separated; when every alternative naming it
   * asks the same), for the `scope` of the scheme's own refusals' challenges (RFC 6750 §3).
   */
  readonly scope?: string
}

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
  /**
   * When one Security Scheme Object cannot show the scheme (an OAuth2 object holds one flow of
   * each type: two providers' authorization-code flows need two objects): name → object, each in
   * `components.securitySchemes` in place of `openapi`, and each requirement naming this scheme
   * shown as one alternative per name. What is enforced is unchanged.
   */
  readonly documentedAs?: Readonly<Record<string, OpenAPIV3_1.SecuritySchemeObject>>
  /** Scopes this scheme can grant; a route asking for another one fails at start-up. */
  readonly scopes: ReadonlySet<string>
  /**
   * The `WWW-Authenticate` challenge for a reply of this kind; `scope`: the scopes the route asks
   * of this scheme (space-separated, RFC 6750 §3), or those it lacked for insufficient_scope.
   * Called when a route is compiled, and for the refusal of a scope demand (`request.demandScopes`).
   */
  challenge(kind: ChallengeKind, scope?: string): string
  /** Turn a request into a principal, or say why not. Must not throw for a bad credential. */
  authenticate(request: FastifyRequest): AuthOutcome | PromiseLike<AuthOutcome>
  /**
   * The scheme as a route with demands uses it (token schemes: per-route DPoP, step-up, the scopes
   * its own refusals name). Called once at `ready()` per route with demands or with scopes asked
   * of the scheme; a scheme without it cannot serve a route that asks for step-up, and is left as
   * is by `x-dpop` and `scope`.
   */
  forRoute?(demands: RouteDemands): SecurityScheme
}
