import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { assertHeaderSafe } from '../core/challenge.js'
import { functionOption, integerOption, pathOption, stringOption } from '../core/option-checks.js'
import type { Limit } from '../hardening/rate-limit.js'
import type { OAuth2Client } from './clients.js'
import type { AttemptPolicy, LoginAttempts } from '../core/login-attempts.js'
import { loginSettings, roleOption, type PasswordLogin, type UserGrant, type VerifiedUser, type VerifyUser } from './login.js'
import type { SessionStore } from './session-store.js'
import type { TokenResponse } from './sessions.js'

export interface OAuth2ServerOptions {
  /**
   * Check a user name and password (password grant): who the user is and every scope they may
   * be granted, or `null`. Use a `PasswordHasher`, whose `verify(undefined, password)` checks a
   * dummy hash so an unknown user takes as long as a wrong password. Without it the password
   * grant is off.
   */
  verifyUser?: VerifyUser
  /**
   * At every refresh: the subject's grant today, or `null` when the account is gone or disabled
   * (the session then ends). Default: the session keeps what it was granted at login.
   */
  findSubject?: (subject: string, request: FastifyRequest) => VerifiedUser | null | PromiseLike<VerifiedUser | null>
  /**
   * Role name → the scopes it grants (each in the core's `scopes`). `verifyUser` and
   * `findSubject` may then answer `{ subject, roles: ['admin'] }`: the grant holds the roles'
   * scopes and any `scopes` beside them. A route for a role asks for a scope only it grants
   * (`security: [{ oauth2: ['admin'] }]`). An unknown role fails closed.
   */
  roles?: Readonly<Record<string, readonly string[]>>
  /** Refresh-token families and revoked ids. Turns on `refresh_token` and the RFC 7009 revocation endpoint. */
  sessions?: SessionStore
  /** Confidential clients, id → `{ secret, scopes? }`; a client with `scopes` may use `client_credentials`. */
  clients?: Record<string, OAuth2Client>
  /** Lifetime of a session, however often it is refreshed, seconds. Default 7 days. */
  refreshTokenTtl?: number
  /**
   * Seconds after a refresh token is rotated during which presenting it again is a retry, not a
   * theft: the client gets the same successor it was given (two tabs refreshing at once, a reply
   * lost on the way). Outside it, reuse revokes the whole session. Default 0: off (RFC 9700
   * §4.14.2 as written); Auth0 and Okta offer the same, off by default too.
   */
  reuseInterval?: number
  /**
   * Failed logins per account (its canonical user name) lock it: `threshold` (5) failures, then
   * `baseDelay` (30 s) doubling up to `maxDelay` (15 min); forgotten `memory` (a day) after the
   * last one. Attempts are reserved before the password is checked, so no concurrency gets more
   * guesses through. `false` for none.
   */
  lockout?: Partial<AttemptPolicy> | false
  /** Where login attempts are counted. Default: in memory; `redisLoginAttempts(redis)` shares them between instances. */
  loginAttempts?: LoginAttempts
  /**
   * Per client address: the token endpoint's limit (every request, with the `rateLimit` plugin,
   * failing closed), and the budget of failed logins on every login path (token endpoint, and
   * Basic through `login`). Default 5 a minute; `false` for none.
   */
  rateLimit?: Limit | false
  /** Default `/auth/token`. */
  tokenPath?: string
  /** Default `/auth/revoke`. */
  revokePath?: string
  /** Publish RFC 8414 metadata at `/.well-known/oauth-authorization-server`. Default `true`. */
  metadata?: boolean
  /** `client_id` of tokens issued to clients that do not name themselves. Default `'public'`. */
  publicClientId?: string
  /** Realm of the `Basic` challenge of a failed client authentication. Default: the core's. */
  realm?: string
  /** Clock in ms since the epoch (tests): of sessions, and of a login's `auth_time`. Default `Date.now`. */
  now?: () => number
}

/** What the token endpoint shares with the app, decorated as `fastify.oauth2Server`. */
export interface OAuth2Server {
  /**
   * A user name and password through the verifier, the lockout and the address budget, sharing
   * the token endpoint's counts: give it to `basicAuth({ verify })`. A locked account or address
   * throws `WARDEN_ERR_THROTTLED` (answered 429); a credential that changed meanwhile is refused.
   */
  login: PasswordLogin
  /**
   * End every session of a subject (password change, deletion): their tokens are refused from
   * now on. `credential`: the subject's credential version from now on (what `verifyUser` will
   * report), or `null` when the account is gone: a login that checked an older one, even one in
   * flight now, gets no session.
   */
  endSessions(subject: string, reason: string, change?: { credential: number | null }): Promise<number>
  /** Lift an account's lockout (by user name, in any case or form). */
  unlock(username: string): Promise<void>
  /**
   * The token endpoint's answer for a grant `login` gave, for an app's own login route (JSON,
   * say): the grant's scopes narrowed to `scopes` as the password grant does (all of them when
   * none are asked for), a session (a refresh token) when sessions are configured, the
   * `auth.login.succeeded` event. `undefined` when the credential the login checked changed
   * meanwhile (answer it as a wrong password). A scope the bearer scheme does not declare throws
   * `WARDEN_ERR_OAUTH` (`invalid_scope`, answered 400); a grant of the wrong shape throws
   * `WARDEN_ERR_OPTION`. Set `Cache-Control: no-store` on the answer. The tokens carry the
   * grant's `acr` and `authTime` (`auth_time`; the time of this call when it has none): after a
   * second factor of its own, give `{ ...grant, acr, authTime }`. They are Bearer tokens: no
   * DPoP proof is read here.
   */
  issueTokens(grant: UserGrant, request: FastifyRequest, options?: IssueTokensOptions): Promise<TokenResponse | undefined>
}

export interface IssueTokensOptions {
  /** The scopes asked for (RFC 6749 §3.3); the grant's that are among them are issued. Default: all of the grant's. */
  scopes?: readonly string[]
  /** The client the tokens are issued to: a refresh must come from it. Default: the `publicClientId`. */
  clientId?: string
  /**
   * Bind the tokens to the key of the request's DPoP proof (RFC 9449 §5), as the token endpoint
   * does, refresh token included: an app's own login route takes DPoP clients too. A request
   * without a proof gets bearer tokens; a proof at fault throws `OAuthFailure`
   * (`invalid_dpop_proof`, or `use_dpop_nonce` with the nonce in `headers`). Default `true` when
   * the bearer scheme has `dpop`.
   */
  dpop?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    oauth2Server: OAuth2Server
  }
}

const DAY = 86_400

/** The plugin's options, checked at registration; each error names the option at fault. */
export type ServerSettings = ReturnType<typeof serverSettings>

export function serverSettings (fastify: FastifyInstance, opts: OAuth2ServerOptions) {
  const verifyUser = functionOption<VerifyUser>('verifyUser', opts.verifyUser)
  const findSubject = functionOption<NonNullable<OAuth2ServerOptions['findSubject']>>('findSubject', opts.findSubject)
  const clients = opts.clients ?? {}
  if (clients === null || typeof clients !== 'object' || Array.isArray(clients)) {
    throw new errors.WARDEN_ERR_OPTION('clients', 'must be an object of client id to { secret, scopes }')
  }
  const sessions = opts.sessions
  if (sessions !== undefined && (typeof sessions?.refreshTokens?.rotate !== 'function' || typeof sessions?.revocations?.revoke !== 'function')) {
    throw new errors.WARDEN_ERR_OPTION('sessions', 'must be a SessionStore: { refreshTokens, revocations }')
  }
  const tokens = fastify.accessTokens
  if (sessions !== undefined && !tokens.revocable) {
    throw new errors.WARDEN_ERR_OPTION(
      'sessions',
      `needs the '${tokens.scheme}' scheme's isRevoked option reading the same revocations, or ended sessions would keep their access tokens`
    )
  }
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const login = loginSettings({
    ...(opts.loginAttempts === undefined ? {} : { attempts: opts.loginAttempts }),
    ...(opts.lockout === undefined ? {} : { lockout: opts.lockout }),
    ...(opts.rateLimit === undefined ? {} : { addressLimit: opts.rateLimit })
  }, 'lockout', now)
  const clientCredentials = Object.values(clients).some((c) => c?.scopes !== undefined)
  const grants = [
    ...(verifyUser === undefined ? [] : ['password']),
    ...(sessions === undefined ? [] : ['refresh_token']),
    ...(clientCredentials ? ['client_credentials'] : [])
  ]
  if (verifyUser === undefined && !clientCredentials) {
    throw new errors.WARDEN_ERR_OPTION('verifyUser', "must be given (password grant), or a client with 'scopes' (client_credentials)")
  }
  const roles = roleOption(opts.roles, new Set(Object.keys(fastify.warden.scopes)))
  const realm = opts.realm ?? fastify.warden.realm
  assertHeaderSafe('realm', realm)
  const limit: Limit | false = login.address === undefined ? false : { max: login.address.threshold, timeWindow: login.address.baseDelay }
  return {
    verifyUser,
    findSubject,
    roles,
    sessions,
    clients,
    login,
    grants,
    realm,
    limit,
    refreshTokenTtl: integerOption('refreshTokenTtl', opts.refreshTokenTtl, 7 * DAY, 60, 366 * DAY),
    reuseInterval: integerOption('reuseInterval', opts.reuseInterval, 0, 0, 300),
    tokenPath: pathOption('tokenPath', opts.tokenPath, '/auth/token'),
    revokePath: pathOption('revokePath', opts.revokePath, '/auth/revoke'),
    metadata: opts.metadata ?? true,
    publicClientId: stringOption('publicClientId', opts.publicClientId, 'public'),
    now
  }
}
