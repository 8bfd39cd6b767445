// The public surface of `fastify-warden`: each name here is a semver promise, chosen for what a
// user's app needs (the reference app in app/ and routes/ uses nothing else). Internals stay
// reachable to the tests by their own paths, never from here.

// The core and the security schemes; the types an app writes its callbacks, custom schemes and
// claims (by interface merging) with.
export { warden, warden as default, type WardenOptions } from './core/warden.js'
export {
  INVALID_CREDENTIALS,
  CredentialRefusal,
  type AuthPrincipal,
  type AuthOutcome,
  type RouteDemands,
  type DpopMode,
  type SecurityScheme,
  type SecurityRequirement,
  type ChallengeKind,
  type WardenClaims,
  type WardenUser
} from './core/types.js'
export {
  oauth2Bearer,
  type OAuth2BearerOptions,
  type DpopOptions,
  type IssuedAccessToken,
  type SignableClaims
} from './oauth2-bearer/index.js'
export { InvalidToken, InvalidDpopProof, OAuthFailure } from './errors.js'
export { ScopeDemandRefused } from './core/scope-demands.js'
export { mcpAuthInfo, type McpAuthInfo } from './core/auth-info.js'
export { memoryDpopReplay, type DpopReplayCache, type MemoryDpopReplayOptions } from './oauth2-bearer/dpop-replay.js'
export type { DpopNonceOptions } from './oauth2-bearer/dpop-nonce.js'
export { ALGORITHMS, type Algorithm, type Jwk } from './oauth2-bearer/keys.js'
export { apiKey, type ApiKeyOptions, type ApiKeyRecord, type StaticApiKey } from './api-key/index.js'
export { generateApiKey, API_KEY_LENGTH, API_KEY_PATTERN, API_KEY_PREFIX_LENGTH, API_KEY_PREFIX_PATTERN } from './api-key/format.js'
export { basicAuth, type BasicAuthOptions, type BasicAuthUser } from './basic-auth/index.js'

// The token endpoint, password logins and the contracts of the stores it uses.
export {
  oauth2Server,
  type OAuth2ServerOptions,
  type OAuth2Server,
  type IssueTokensOptions
} from './oauth2-server/index.js'
export type { TokenResponse } from './oauth2-server/sessions.js'
export type { OAuth2Client } from './oauth2-server/clients.js'
export {
  passwordLogin,
  type UserGrant,
  type VerifiedUser,
  type VerifyUser,
  type PasswordLogin,
  type PasswordLoginOptions
} from './oauth2-server/login.js'
export {
  memoryLoginAttempts,
  type LoginAttempts,
  type AttemptPolicy,
  type Reservation
} from './core/login-attempts.js'
export type {
  SessionStore,
  RefreshTokenStore,
  RefreshFamily,
  PresentedToken,
  Rotation,
  Revocation,
  RevocationSink
} from './oauth2-server/session-store.js'
export { canonicalUsername } from './core/username.js'
export { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from './passwords/index.js'

// The OpenAPI document and the test of its contract.
export { openapi, type OpenApiOptions } from './openapi/index.js'
export { checkSecurityContract, type ContractOptions, type ContractFinding } from './openapi/contract.js'

// Hardening, and the checks an app runs on its own configuration before registering them.
export { cors, isOrigin, type CorsOptions } from './hardening/cors.js'
export { securityHeaders, type SecurityHeadersOptions } from './hardening/security-headers.js'
export { rateLimit, type RateLimitOptions, type RouteRateLimit } from './hardening/rate-limit.js'
export { trustedHosts, isHostEntry, type TrustedHostsOptions } from './hardening/trusted-hosts.js'
export { requestId, requestIdOptions } from './hardening/request-id.js'
export { secureServerOptions } from './hardening/server-options.js'
export { hijackWithHeaders } from './hardening/hijack.js'
export { secretFault } from './core/option-checks.js'

// Replies, logs and errors.
export { problem, sendProblem, type Problem } from './core/problem.js'
export { invalidFields, type FieldError } from './core/error-handler.js'
export { securityEvent, type SecurityEvent, type AppSecurityEvent } from './core/events.js'
export { logSerializers, redactHeaders, REDACT_PATHS } from './core/redaction.js'
export { Availability } from './core/availability.js'
export { errors, type WardenErrorCode, type Throttled } from './errors.js'
