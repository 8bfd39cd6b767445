import createError from '@fastify/error'
import type { WardenClaims } from './core/types.js'

/**
 * Every error fastify-warden throws, by code. Configuration errors are thrown at registration or
 * at `ready()`, never on a request; each message names the option, route, scheme or scope at fault.
 */
export const errors = {
  /** An option given to a plugin is missing or has the wrong type or value. */
  WARDEN_ERR_OPTION: createError('WARDEN_ERR_OPTION', "option '%s' %s", 500, TypeError),
  /** A route's `schema.security` is not an OpenAPI Security Requirement list. */
  WARDEN_ERR_REQUIREMENT: createError('WARDEN_ERR_REQUIREMENT', "route '%s': %s", 500, TypeError),
  /** A route's requirement names a scheme that no plugin registered. */
  WARDEN_ERR_UNKNOWN_SCHEME: createError('WARDEN_ERR_UNKNOWN_SCHEME', "route '%s': security scheme '%s' is not registered (registered: %s)", 500),
  /** A route's requirement asks a scheme for a scope it does not declare. */
  WARDEN_ERR_UNKNOWN_SCOPE: createError('WARDEN_ERR_UNKNOWN_SCOPE', "route '%s': security scheme '%s' does not declare scope '%s'", 500),
  /**
   * A route the core never saw (registered before it, or outside the context it was registered
   * in) needs authentication; it would be served open, so the app does not start.
   */
  WARDEN_ERR_UNGUARDED_ROUTE: createError('WARDEN_ERR_UNGUARDED_ROUTE', "route '%s' %s", 500),
  /** A route was registered before the `openapi` plugin and would be missing from the document. */
  WARDEN_ERR_UNDOCUMENTED_ROUTE: createError(
    'WARDEN_ERR_UNDOCUMENTED_ROUTE',
    "route '%s' was registered before the openapi plugin and would be missing from the document: " +
      'register openapi before the plugin that adds it, or hide the route (schema.hide)',
    500
  ),
  /** Two plugins registered a security scheme under the same name. */
  WARDEN_ERR_DUPLICATE_SCHEME: createError('WARDEN_ERR_DUPLICATE_SCHEME', "security scheme '%s' is already registered", 500),
  /** A key given for signing or verifying tokens is unusable (too short, wrong type, wrong algorithm). */
  WARDEN_ERR_KEY: createError('WARDEN_ERR_KEY', "key '%s': %s", 500, TypeError),
  /** A token could not be signed (bad claims given to the signer). */
  WARDEN_ERR_SIGN: createError('WARDEN_ERR_SIGN', 'cannot sign token: %s', 500, TypeError),
  /** Password hashing is at capacity (a login storm): the check is refused before any hashing, to be answered 503 with Retry-After. */
  WARDEN_ERR_BUSY: createError('WARDEN_ERR_BUSY', 'password hashing is at capacity (%s)', 503),
  /** The hashing process (`createPasswordHasher({ isolate: true })`) failed or ended during a check. */
  WARDEN_ERR_HASHING: createError('WARDEN_ERR_HASHING', 'password hashing failed: %s', 503),
  /**
   * Failed logins locked an account, or a client address spent its budget of failed logins: no
   * password was checked. Answered 429 with `Retry-After` (its `retryAfter`, seconds).
   */
  WARDEN_ERR_THROTTLED: createError('WARDEN_ERR_THROTTLED', 'too many failed logins for this %s', 429),
  /** The JWKS of an external provider could not be fetched or holds no usable key. */
  WARDEN_ERR_JWKS: createError('WARDEN_ERR_JWKS', "JWKS '%s': %s", 500),
  /**
   * A dependency a request needs did not answer (the database dropped or refused the connection):
   * answered 503 with `Retry-After`, its cause logged once per outage, never in the reply.
   */
  WARDEN_ERR_UNAVAILABLE: createError('WARDEN_ERR_UNAVAILABLE', '%s unavailable: %s', 503),
  /**
   * An access token was refused (`InvalidToken` of `accessTokens.verify()`); the message is its
   * `reason` (`bad signature`, `expired`, or the claim at fault: `iss`, `aud`...), with its `kind`
   * (the `reason` of `auth.failed` events) and, when a claim is at fault, the `claim` it names.
   */
  WARDEN_ERR_INVALID_TOKEN: createError('WARDEN_ERR_INVALID_TOKEN', '%s', 401),
  /**
   * A DPoP proof (RFC 9449) was refused (`InvalidDpopProof`): the message is its `reason`; its
   * `error` says how to answer, `invalid_dpop_proof` or `use_dpop_nonce` (a server nonce is needed).
   */
  WARDEN_ERR_INVALID_DPOP_PROOF: createError('WARDEN_ERR_INVALID_DPOP_PROOF', '%s', 401),
  /**
   * The in-memory DPoP replay cache holds as many unexpired proofs as its bound: a new proof is
   * refused (answered 503 with `Retry-After`), never let through by forgetting a live one.
   */
  WARDEN_ERR_DPOP_REPLAY_FULL: createError('WARDEN_ERR_DPOP_REPLAY_FULL', 'the DPoP replay cache holds %s unexpired proofs', 503),
  /**
   * A scheme's dependency failed during a check (an app callback threw, a store or a provider's
   * key set is down): answered 503 with `Retry-After`, the credential not blamed.
   */
  WARDEN_ERR_DEPENDENCY: createError('WARDEN_ERR_DEPENDENCY', "security scheme '%s' could not check the credential", 503),
  /**
   * The token endpoint refused a request in the terms of RFC 6749 §5.2: answered with
   * `{ error, error_description }` and its `status` (400, or 401 for client authentication).
   */
  WARDEN_ERR_OAUTH: createError<'WARDEN_ERR_OAUTH', 400 | 401>('WARDEN_ERR_OAUTH', 'token request refused (%s): %s', 400),
  /**
   * `request.demandScopes(label)` refused the caller (`ScopeDemandRefused`): answered as the route's
   * own guard answers, 403 `insufficient_scope` naming the scopes (401 for an anonymous caller).
   */
  WARDEN_ERR_SCOPE_DEMAND: createError<'WARDEN_ERR_SCOPE_DEMAND', 401 | 403>('WARDEN_ERR_SCOPE_DEMAND', '%s', 403),
  /**
   * `safePath()` refused a requested path (`UnsafePathError`): `status` is the answer to give,
   * 400 for a path that tries to leave its folder, 404 for nothing there or a folder.
   */
  WARDEN_ERR_UNSAFE_PATH: createError<'WARDEN_ERR_UNSAFE_PATH', 400 | 404>('WARDEN_ERR_UNSAFE_PATH', 'path refused: %s', 400)
} as const

export type WardenErrorCode = keyof typeof errors

/** A login refused before any password was checked, with the seconds to wait. */
export type Throttled = InstanceType<typeof errors.WARDEN_ERR_THROTTLED> & { readonly retryAfter: number }

/** `WARDEN_ERR_THROTTLED` for an `'account'` or an `'address'`, to be answered 429 with `Retry-After: retryAfter`. */
export function throttled (what: 'account' | 'address', retryAfter: number): Throttled {
  return Object.assign(new errors.WARDEN_ERR_THROTTLED(what), { retryAfter })
}

export function isThrottled (err: unknown): err is Throttled {
  return (err as { code?: unknown } | null)?.code === 'WARDEN_ERR_THROTTLED' && typeof (err as { retryAfter?: unknown }).retryAfter === 'number'
}

// The errors with fields of their own: each extends its entry above, so its code and status are the list's.

/**
 * A dependency an authentication check needs did not answer: an app callback threw, a store is
 * down, a provider's key set cannot be fetched. The core answers 503 with Retry-After: the
 * caller's credential is not to blame, and must not be sent back to log in. Its code is
 * `WARDEN_ERR_DEPENDENCY`.
 */
export class DependencyUnavailable extends errors.WARDEN_ERR_DEPENDENCY {
  constructor (
    readonly scheme: string,
    cause: unknown
  ) {
    super(scheme, { cause })
    this.name = 'DependencyUnavailable'
  }
}

/**
 * The keys of one issuer of a scheme with several could not be had (`WARDEN_ERR_JWKS`, its provider
 * down): the outage is that issuer's, answered 503 for its tokens, logged once for it.
 */
export class IssuerUnavailable extends errors.WARDEN_ERR_JWKS {
  /** What the outage is logged as, apart from the scheme's other issuers. */
  readonly dependency: string
  constructor (
    readonly issuer: string,
    cause: unknown
  ) {
    super(issuer, 'the keys of this issuer could not be had', { cause })
    this.name = 'IssuerUnavailable'
    this.dependency = issuerDependency(issuer)
  }
}

/** The dependency one issuer's keys are, for the core's outage log. */
export const issuerDependency = (issuer: string): string => `keys of ${issuer}`

/**
 * A dependency of a scheme beside the credential's own check did not answer (the DPoP replay
 * cache, `WARDEN_ERR_UNAVAILABLE`): answered 503, its outage logged apart from the scheme's, over
 * once a request that needed it is served.
 */
export class DependencyDown extends errors.WARDEN_ERR_UNAVAILABLE {
  constructor (
    readonly dependency: string,
    cause: unknown
  ) {
    super(dependency, cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = 'DependencyDown'
  }
}

/** The class of a refusal, as security events report it. */
export type RefusalKind = 'malformed' | 'algorithm' | 'signature' | 'unknown_key' | 'expired' | 'claims' | 'revoked' | 'user' | 'dpop'

/**
 * Why a token was refused (`WARDEN_ERR_INVALID_TOKEN`); logged, never sent to the client.
 * `claims` is set once the signature has held, so the event can name the token (`jti`, `sub`)
 * without trusting a forgery; `claim` names the claim at fault, if one is.
 */
export class InvalidToken extends errors.WARDEN_ERR_INVALID_TOKEN {
  constructor (
    readonly reason: string,
    readonly kind: RefusalKind = 'malformed',
    readonly claims?: WardenClaims,
    readonly claim?: string
  ) {
    super(reason)
    this.name = 'InvalidToken'
  }
}

/** How a refused DPoP proof is answered (RFC 9449 §7.1 and §8): `use_dpop_nonce` asks for a proof with the server's nonce. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

/**
 * Why a DPoP proof was refused (`WARDEN_ERR_INVALID_DPOP_PROOF`); logged, never sent with the
 * proof or token text. `error` is the RFC 9449 error code to answer with.
 */
export class InvalidDpopProof extends errors.WARDEN_ERR_INVALID_DPOP_PROOF {
  constructor (
    readonly reason: string,
    readonly error: DpopErrorCode = 'invalid_dpop_proof'
  ) {
    super(reason)
    this.name = 'InvalidDpopProof'
  }

  /** What the client is told (`error_description`, the problem's `detail`): what to do, nothing of the proof. */
  get description (): string {
    return this.error === 'use_dpop_nonce' ? 'Sign the DPoP proof with the nonce given.' : 'The DPoP proof is invalid.'
  }
}

/** The error codes of RFC 6749 §5.2 (and RFC 7009 §2.2.1). */
export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type'
  // RFC 9449 §5 and §8: a token request's DPoP proof at fault, or without the server's nonce.
  | 'invalid_dpop_proof' | 'use_dpop_nonce'

/** A refusal in the terms of RFC 6749 §5.2 (`WARDEN_ERR_OAUTH`), answered as `{ error, error_description }`. */
export class OAuthFailure extends errors.WARDEN_ERR_OAUTH {
  constructor (
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: 400 | 401 = 400,
    readonly challenge?: string,
    /** More headers of the answer (`DPoP-Nonce`). */
    readonly headers?: Readonly<Record<string, string>>
  ) {
    super(error, description)
    this.name = 'OAuthFailure'
    this.statusCode = status
  }
}
