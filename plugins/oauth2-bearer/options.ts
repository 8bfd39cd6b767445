import type { FastifyRequest } from 'fastify'
import type { OpenAPIV3_1 } from 'openapi-types'
import type { TObject } from '@sinclair/typebox'
import type { WardenClaims, WardenUser } from '../core/types.js'
import type { KeyObject } from 'node:crypto'
import type { Algorithm, Jwk, KeyInput } from './keys.js'
import type { DpopMode } from '../core/types.js'
import type { DpopReplayCache } from './dpop-replay.js'
import type { DpopNonceOptions } from './dpop-nonce.js'

/** What every `oauth2Bearer` scheme takes, with one issuer or several. */
interface BearerOptions {
  /** Scheme name (key in `components.securitySchemes` and in route requirements). Default `'oauth2'`. */
  name?: string
  /** Realm of the `Bearer` challenge. Default: the core's realm. */
  realm?: string
  description?: string
  /** Where clients get tokens (password flow), documented in the scheme. Default `/auth/token`. */
  tokenUrl?: string
  /** Where clients refresh tokens, documented in the flow. Default: none (`oauth2Server` sets it when refresh is on). */
  refreshUrl?: string
  /** Scopes this scheme grants; a subset of the core's catalog, all of it by default. */
  scopes?: string[]
  /** HS256 secret, at least 32 bytes. Exclusive with `signingKey` and `jwksUrl`. */
  secret?: string | Buffer
  /** Asymmetric signing key (Ed25519, P-256/384/521 or RSA ≥ 2048 bits) with its `kid`. */
  signingKey?: { kid: string, privateKey: KeyInput }
  /**
   * What the signing key signs (`JWT_ALGORITHM`): it must fit the key, or registration fails
   * naming both (ES256 with an Ed25519 key does not silently sign EdDSA). Default: the key's own
   * (EdDSA, ES256/384/512 by curve, RS256 for RSA); HS256 with `secret`.
   */
  algorithm?: Algorithm
  /**
   * Algorithms accepted in tokens. Default: those the configured keys sign with; in
   * resource-server mode every asymmetric one (RS/PS/ES 256–512, EdDSA), each key verifying only
   * those of its type.
   */
  algorithms?: Algorithm[]
  /** More keys that verify but do not sign (previous keys during rotation). */
  verificationKeys?: Array<{ kid: string, publicKey: KeyInput | Jwk }>
  /** Resource-server mode: verify tokens of an external OpenID provider with the keys at this URL. */
  jwksUrl?: string
  /** Where the public keys are published when signing asymmetrically; `false` to not publish. Default `/.well-known/jwks.json`. */
  jwksPath?: string | false
  /** Lifetime of issued access tokens, seconds. Default 900. */
  expiresIn?: number
  /** Leeway for `exp`/`nbf`/`iat`, seconds, at most 60. Default 30. */
  clockTolerance?: number
  /** Accepted `typ` headers, lower case. Default `['at+jwt', 'application/at+jwt']` (RFC 9068). */
  tokenTypes?: Array<string | null>
  /** Refuse tokens without `jti` (revocation by id needs one). Default `true`; Entra ID sends none. */
  requireJti?: boolean
  /**
   * Where a provider puts the scopes, for those that use neither `scope` nor `scp` (Keycloak:
   * `(claims) => claims.realm_access?.roles`). Only scopes the scheme declares are kept.
   */
  claimScopes?: (claims: WardenClaims) => readonly string[]
  /**
   * Resource-server mode by discovery: `true` reads `{issuer}/.well-known/openid-configuration`
   * (RFC 8414's `/.well-known/oauth-authorization-server` when there is none), or give the metadata
   * URL; its `issuer` must match exactly, and its `jwks_uri` is where the keys are.
   */
  discovery?: boolean | string
  /**
   * How the provider's key set is fetched: at most once per `cooldown` ms when a token names an
   * unknown `kid` (30 s), refetched when older than `maxAge` ms (10 min), each fetch given up
   * after `timeout` ms (5 s).
   */
  keySet?: { cooldown?: number, maxAge?: number, timeout?: number }
  /** Fetch the provider's keys while the app starts: `true` tries (a failure is logged), `'required'` fails `ready()`. Default `true`. */
  prefetch?: boolean | 'required'
  /**
   * How the scheme is documented. Default: the password flow of `tokenUrl` with your own keys;
   * with a provider, `openIdConnect` (discovery) or an HTTP bearer JWT — never a password flow
   * whose token URL does not exist on this service. Give `{ flows }` for the provider's real flows.
   */
  documentation?: { openIdConnectUrl: string } | { flows: OpenAPIV3_1.OAuth2SecurityScheme['flows'] }
  /**
   * A TypeBox schema of your own claims (`Type.Object({ tenant_id: Type.String() })`): a token
   * whose claims do not fit is `invalid_token`, and `sign()` refuses claims that do not fit.
   * Type them by merging `Static<typeof schema>` into `WardenClaims`.
   */
  claims?: TObject
  /** Called for every verified token (cached or not); `true` refuses it. */
  isRevoked?: (claims: WardenClaims, request: FastifyRequest) => boolean | PromiseLike<boolean>
  /**
   * The current user of a verified, unrevoked token, set as `request.auth.user` (as Basic's
   * `verify` can): FastAPI's `get_current_user`. `null` refuses the token (the account is gone
   * or disabled). Called for every request; cached tokens included.
   */
  resolveUser?: (claims: WardenClaims, request: FastifyRequest) => WardenUser | null | PromiseLike<WardenUser | null>
  /** Cache verified tokens: `{ max }` entries. Default off. */
  cache?: false | { max?: number }
  /**
   * Publish RFC 9728 protected-resource metadata for `resource` (this API's identifier, an
   * absolute URL) and advertise it in every `Bearer` challenge (`resource_metadata=`), so a
   * client can discover where to get a token.
   */
  resourceMetadata?: { resource: string, /** Default: the `issuer`s that are URLs. */ authorizationServers?: string[], documentation?: string }
  /**
   * DPoP (RFC 9449): tokens bound to a key the client proves it holds with every request, so a
   * stolen token is useless without it. `true` for the defaults. With it, the token endpoint
   * (`oauth2Server`) binds the tokens of requests that carry a proof.
   */
  dpop?: boolean | DpopOptions
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

/** One issuer and its keys, all verifying with the same policy (the single-issuer form). */
export interface OneIssuerOptions extends BearerOptions {
  /** Expected `iss`; tokens are signed with the first one. A list accepts several issuers sharing these keys. */
  issuer: string | string[]
  /** Expected `aud` (the resource server's identifier, a URL or a client id such as `account`); a list accepts any of them, tokens are signed for the first. */
  audience: string | string[]
}

/** The options each issuer of `issuers` takes instead of the scheme: where its keys are, and its policy. */
export type PerIssuerOption =
  | 'issuer' | 'audience' | 'secret' | 'signingKey' | 'algorithm' | 'algorithms' | 'verificationKeys' | 'jwksUrl' | 'discovery'
  | 'keySet' | 'tokenTypes' | 'requireJti' | 'claimScopes' | 'documentation'

/**
 * One issuer of a scheme that accepts several: its keys (exactly one of `discovery`, `jwksUrl`
 * or `keys`) and its own policy, each option as the single-issuer form takes it, applied only to
 * the tokens whose `iss` is this issuer.
 */
export interface IssuerOptions
  extends Pick<BearerOptions, 'algorithms' | 'tokenTypes' | 'requireJti' | 'claimScopes' | 'discovery' | 'jwksUrl' | 'keySet' | 'documentation'> {
  /** Its `iss`, exactly as its tokens carry it. */
  issuer: string
  /** Expected `aud` of its tokens; a list accepts any of them. */
  audience: string | string[]
  /**
   * Public keys that verify its tokens, for an issuer whose keys you hold: JWKs (their `kid` and
   * `alg` are kept) or `KeyObject`s (no `kid`: one such key verifies the tokens that name none).
   */
  keys?: Array<Jwk | KeyObject>
  /** Its own security scheme's name in the OpenAPI document. Default: the scheme's name, a dot, the issuer's host and path. */
  name?: string
  /**
   * Whether its logins count on `'x-step-up'` routes (their `acr`, `auth_time`). Default `true`;
   * `false` for an issuer whose logins you do not vouch for (a partner's): its tokens are refused
   * there, whatever `acr` they claim.
   */
  stepUp?: boolean
}

/**
 * Several issuers (a workforce and a customer provider, two tenants): each token is verified by
 * the issuer its `iss` names, among these only, with that issuer's keys and policy. A resource
 * server: such a scheme signs no token.
 */
export type SeveralIssuersOptions = BearerOptions & {
  /** The issuers whose tokens are accepted (an allow-list); a token naming any other is `invalid_token`, at no cost of a request. */
  issuers: IssuerOptions[]
}

export type OAuth2BearerOptions = OneIssuerOptions | SeveralIssuersOptions

export interface DpopOptions {
  /**
   * How routes take DPoP unless one says otherwise in its schema (`'x-dpop'`): `'allowed'` (bearer
   * tokens, and bound tokens with their proof), `'required'` (bound tokens only) or `'off'`
   * (bearer tokens only; a bound token is refused). Default `'allowed'`.
   */
  mode?: DpopMode
  /** Algorithms accepted in proofs (asymmetric only). Default every asymmetric one, ES256 first. */
  algorithms?: Algorithm[]
  /** Seconds a proof is accepted after its `iat` (plus `clockTolerance` either side). Default 60, at most 600. */
  proofLifetime?: number
  /**
   * Where the `jti` of used proofs are remembered, so none is accepted twice: shared by every
   * instance (`redisDpopReplay` from `fastify-warden/stores`); a cache that cannot answer refuses
   * the request (503). Default: this process's memory, 100 000 proofs at most.
   */
  replay?: DpopReplayCache
  /**
   * Server nonces (RFC 9449 §8-9): a proof must carry a recent `DPoP-Nonce` of this server,
   * bounding how early a proof can be made. `{ secret }` shared by the instances (≥ 32 bytes).
   */
  nonce?: boolean | DpopNonceOptions
  /**
   * This API's origin as clients call it (`https://api.example.com`): proofs must name it. By
   * default the request's own, from its Host header (and X-Forwarded-* with `trustProxy`): pair it
   * with `trustedHosts`, or a proof captured for another service that takes the same tokens can
   * be replayed here with that service's Host.
   */
  origin?: string
}

/** The claims the signer sets itself; `sign()` refuses them. */
type SignerClaims = 'iss' | 'aud' | 'exp' | 'nbf' | 'iat' | 'jti'

/**
 * What `sign()` takes: `sub`, `scope` (a list or a space-separated string), and your own claims
 * as merged into `WardenClaims`, the required ones required.
 */
export type SignableClaims = { [K in keyof WardenClaims as K extends SignerClaims | 'sub' | 'scope' ? never : K]: WardenClaims[K] } &
{ sub: string, scope?: string | readonly string[] }

/** A freshly signed access token. */
export interface IssuedAccessToken {
  token: string
  jti: string
  /** Seconds. */
  expiresIn: number
  /** Seconds since the epoch. */
  expiresAt: number
}

/** Signs and verifies the access tokens of an `oauth2Bearer` scheme; decorated as `fastify.accessTokens`. */
export interface AccessTokens {
  /** Lifetime of issued tokens, seconds. */
  readonly expiresIn: number
  /** The `iss` of issued tokens (with `issuers`, which signs none: the first issuer). */
  readonly issuer: string
  /** Name of the scheme that verifies these tokens. */
  readonly scheme: string
  /** Scopes the scheme grants: `sign()` refuses any other. */
  readonly scopes: ReadonlySet<string>
  /** Whether the scheme checks revocation (`isRevoked`), so that revoking a token means something. */
  readonly revocable: boolean
  /** Whether the scheme holds a signing key: `false` in resource-server mode (`jwksUrl`, `discovery`, `issuers`), where `sign()` throws. */
  readonly signs: boolean
  /** Where this server publishes the public keys (`jwksPath`); `undefined` when it publishes none. */
  readonly jwksPath: string | undefined
  /**
   * Sign an RFC 9068 access token. `scope` may be a list or a space-separated string of scopes
   * the scheme grants.
   */
  sign (claims: SignableClaims, options?: { expiresIn?: number }): IssuedAccessToken
  /** Verify a token exactly as the scheme does (signature, header, claims); throws on any fault. */
  verify (token: string): Promise<WardenClaims>
  /** The public keys, as a JWK Set (empty for HS256 and resource-server mode). */
  jwks (): { keys: Jwk[] }
  /**
   * DPoP as the scheme takes it (its `dpop` option), for the token endpoint that binds tokens;
   * undefined without it.
   */
  readonly dpop: DpopProofs | undefined
}

/** A token request's verified DPoP proof: the thumbprint of its key, and the step that uses it up. */
export interface DpopProof {
  readonly jkt: string
  /**
   * Record the proof as used, once the request is granted (so refused requests take no room in
   * the replay cache): `InvalidDpopProof` when it was used before; what the cache cannot tell
   * (it is down, full) is thrown as is.
   */
  use (): void | Promise<void>
}

/** The DPoP proofs of token requests (RFC 9449 §5), checked as the scheme checks those of API requests. */
export interface DpopProofs {
  /** The proof algorithms accepted (RFC 8414 `dpop_signing_alg_values_supported`). */
  readonly algorithms: readonly Algorithm[]
  /**
   * The request's DPoP proof, verified for this request, not yet used; undefined when it carries
   * none. Throws `InvalidDpopProof` for a proof at fault.
   */
  check (request: FastifyRequest): DpopProof | undefined
  /** The server nonce to send with `use_dpop_nonce`; undefined when nonces are off. */
  nonce (): string | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    accessTokens: AccessTokens
  }
}
