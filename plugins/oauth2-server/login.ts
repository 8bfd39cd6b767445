import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { errors, throttled } from '../errors.js'
import { securityEvent } from '../core/events.js'
import { callbackFault, checkGrant, withRoleScopes, type RoleScopes } from '../core/callback-results.js'
import { integerOption } from '../core/option-checks.js'
import { canonicalUsername } from '../core/username.js'
import { addressGroup } from '../core/address.js'
import type { Limit } from '../hardening/rate-limit.js'
import { dependency } from '../core/dependency.js'
import { DEFAULT_LOCKOUT, memoryLoginAttempts, type AttemptPolicy, type LoginAttempts, type Reservation } from '../core/login-attempts.js'

/** What the app's user verifier says of a user: who they are and what they may be granted. */
export interface UserGrant {
  /** Stable identifier of the user: the access token's `sub`. */
  subject: string
  /**
   * Every scope the user may be granted, their roles' included; a token gets those of them that
   * were asked for (all when none were).
   */
  scopes: readonly string[]
  /** The user's roles, as the verifier named them: each granted the scopes the `roles` option gives it. */
  roles?: readonly string[]
  /** Extra claims for the access token (e.g. `tenant_id`); registered claims are refused by the signer. */
  claims?: Record<string, unknown>
  /**
   * The version of the credential that was checked, read with the password hash: a number that
   * grows with every change (a counter, or the password's change time in ms). A session is
   * started only while it is still the subject's current one (`endSessions(subject, reason,
   * { credential })` records a new one), so a login that was checking the old password when it
   * changed, or when the account was deleted, gets no tokens.
   */
  credential?: number
  /**
   * The authentication context class the app decided for this login (RFC 9470), e.g.
   * `urn:example:mfa` after a second factor: every access token of the session carries it as
   * `acr`. 1 to 255 visible ASCII characters, or the grant fails closed. A refresh keeps the
   * login's: `findSubject`'s is checked, not used.
   */
  acr?: string
  /** When `login` verified the credentials, seconds since the epoch (`auth_time`); `issueTokens` takes its call's time without it. */
  authTime?: number
}

/**
 * What `verifyUser` and `findSubject` answer of a user: a grant whose scopes may be given as
 * `roles` (names of the `roles` option), as `scopes`, or both (the union). An unknown role
 * fails closed: no grant, an `auth.callback.invalid` event. The time of the login is the library's.
 */
export type VerifiedUser = Omit<UserGrant, 'scopes' | 'authTime'> & { scopes?: readonly string[] }

export type VerifyUser = (
  username: string, password: string, request: FastifyRequest
) => VerifiedUser | null | PromiseLike<VerifiedUser | null>

/**
 * A user name and password through the verifier, behind the lockout and the address budget:
 * the grant, `null` for a refusal (wrong password, unknown user, disabled account), or a thrown
 * `WARDEN_ERR_THROTTLED` (answer 429 with its `retryAfter`) when no password was checked.
 */
export type Login = (username: string, password: string, request: FastifyRequest) => Promise<UserGrant | null>

/** A login and the way to lift what it counted for an account. */
export interface PasswordLogin extends Login {
  /** Lift an account's lockout (by user name, in any case or form). */
  unlock (username: string): Promise<void>
}

export interface PasswordLoginOptions {
  verifyUser: VerifyUser
  /** The scopes a grant may hold (the others are dropped). */
  scopes: ReadonlySet<string> | readonly string[]
  /** Role name → the scopes it grants (each one of `scopes`), for a verifier that answers `roles`. */
  roles?: Readonly<Record<string, readonly string[]>>
  /** Where attempts are counted. Default: in memory (`redisLoginAttempts(redis)` shares them between instances). */
  attempts?: LoginAttempts
  /** Failed logins per account (its canonical user name). Default 5, then 30 s doubling up to 15 min; `false` for none. */
  lockout?: Partial<AttemptPolicy> | false
  /** Failed logins per client address, whatever the account: `max` per `timeWindow` ms. Default 5 a minute; `false` for none. */
  addressLimit?: Limit | false
  /** Whether the credential version a login checked is still the subject's current one (with sessions: the store's). */
  isCurrent?: (subject: string, credential: number) => Promise<boolean>
}

/** What a login uses of its options, checked; `lockout.ts` states the rule. */
export interface LoginSettings {
  readonly attempts: LoginAttempts
  readonly account: AttemptPolicy | undefined
  readonly address: AttemptPolicy | undefined
  /** The clock a grant's `authTime` is read on, ms since the epoch. */
  readonly now: () => number
}

export function loginSettings (
  options: Pick<PasswordLoginOptions, 'attempts' | 'lockout' | 'addressLimit'>, name = 'lockout', now: () => number = Date.now
): LoginSettings {
  const attempts = options.attempts ?? memoryLoginAttempts()
  if (typeof attempts.reserve !== 'function' || typeof attempts.release !== 'function') {
    throw new errors.WARDEN_ERR_OPTION('loginAttempts', 'must be LoginAttempts ({ reserve, release, reset, lockedFor })')
  }
  const lockout = options.lockout
  if (lockout !== undefined && lockout !== false && (lockout === null || typeof lockout !== 'object')) {
    throw new errors.WARDEN_ERR_OPTION(name, 'must be { threshold, baseDelay, maxDelay, memory } or false')
  }
  const account = lockout === false
    ? undefined
    : {
        threshold: integerOption(`${name}.threshold`, lockout?.threshold, DEFAULT_LOCKOUT.threshold, 1, 1_000_000),
        baseDelay: integerOption(`${name}.baseDelay`, lockout?.baseDelay, DEFAULT_LOCKOUT.baseDelay, 1000, 86_400_000),
        maxDelay: integerOption(`${name}.maxDelay`, lockout?.maxDelay, DEFAULT_LOCKOUT.maxDelay, 1000, 86_400_000),
        memory: integerOption(`${name}.memory`, lockout?.memory, DEFAULT_LOCKOUT.memory, 1000, 31_536_000_000)
      }
  const limit = options.addressLimit
  const address = limit === false
    ? undefined
    : (() => {
        const window = integerOption('rateLimit.timeWindow', limit?.timeWindow, 60_000, 1000, 86_400_000)
        return { threshold: integerOption('rateLimit.max', limit?.max, 5, 1, 1_000_000), baseDelay: window, maxDelay: window, memory: window }
      })()
  return { attempts, account, address, now }
}

/** Keys are digests: no user name or address is stored in clear, and every key has one length. */
const digest = (kind: string, value: string): string => createHash('sha256').update(`${kind}\u0000${value}`).digest('base64url')
// Stryker disable next-line StringLiteral: equivalent, the two kinds only need to differ from each other
const accountKey = (username: string): string => digest('account', canonicalUsername(username))
// Stryker disable next-line StringLiteral: equivalent, as above
const addressKey = (ip: string): string => digest('address', addressGroup(ip))

/**
 * A user name and password against the app's verifier, behind the per-account lockout and the
 * per-address budget of failed logins. Both attempts are reserved before the password is checked
 * (`lockout.ts`), so concurrency lets no extra guess through.
 */
export function createLogin (
  verifyUser: VerifyUser,
  scopes: ReadonlySet<string>,
  settings: LoginSettings,
  isCurrent?: PasswordLoginOptions['isCurrent'],
  roles?: RoleScopes
): PasswordLogin {
  const { attempts, account, address, now } = settings
  // A store that fails (one that fails closed) is one line when it starts and one when it ends:
  // it is back once a whole login went through it without a fault.
  const store = dependency('login-attempt store')
  /** Give back or reset after the check: a store that fails then costs the caller nothing more. */
  const quietly = async (request: FastifyRequest, action: () => Promise<unknown>): Promise<boolean> => {
    try {
      await action()
      return true
    } catch (err) {
      store.failed(err, request.log)
      return false
    }
  }

  const login: Login = async function login (username, password, request) {
    const accountK = account === undefined ? undefined : accountKey(username)
    const addressK = address === undefined ? undefined : addressKey(request.ip)
    const held: Array<[string, AttemptPolicy]> = []
    const giveBack = async (): Promise<void> => {
      for (const [key, policy] of held) await quietly(request, async () => { await attempts.release(key, policy, request.log) })
    }
    /** Reserve an attempt; the seconds of the lock it starts should it fail. */
    const reserve = async (what: 'address' | 'account', key: string, policy: AttemptPolicy): Promise<number> => {
      let reservation: Reservation
      try {
        reservation = await attempts.reserve(key, policy, request.log)
      } catch (err) {
        store.failed(err, request.log)
        throw err
      }
      if (!reservation.granted) {
        securityEvent(request, 'auth.login.locked', { reason: `too many failed logins for this ${what}`, retry_after: reservation.retryAfter })
        throw throttled(what, reservation.retryAfter)
      }
      held.push([key, policy])
      return reservation.lock
    }
    let lock = 0
    let grant: UserGrant | null
    try {
      if (addressK !== undefined) await reserve('address', addressK, address!)
      if (accountK !== undefined) lock = await reserve('account', accountK, account!)
      grant = checkUserGrant(request, 'verifyUser', await verifyUser(username, password, request), scopes, roles)
      if (grant !== null) grant = { ...grant, authTime: Math.floor(now() / 1000) }
      // The password was right for a credential that has changed since: it is not the password now.
      if (grant?.credential !== undefined && isCurrent !== undefined && !await isCurrent(grant.subject, grant.credential)) grant = null
    } catch (err) {
      // Locked, a store that cannot count (answered 503: fail closed), a busy hasher: no password
      // was checked, so nothing is counted.
      await giveBack()
      throw err
    }
    if (grant === null) {
      securityEvent(request, 'auth.login.failed', { reason: 'invalid credentials', ...(lock > 0 ? { locked_for: lock } : {}) })
      store.succeeded(request.log)
      return null
    }
    // A success forgets the account's failures, and the address's budget gets this attempt back.
    const reset = accountK === undefined || await quietly(request, async () => { await attempts.reset(accountK, request.log) })
    const released = addressK === undefined || await quietly(request, async () => { await attempts.release(addressK, address!, request.log) })
    if (reset && released) store.succeeded(request.log)
    return grant
  }
  return Object.assign(login, { async unlock (username: string) { await attempts.reset(accountKey(username)) } })
}

/**
 * A user name and password through your verifier behind the account lockout and the address
 * budget, for HTTP Basic (`basicAuth({ verify: login })`) without the token endpoint. With it,
 * use `fastify.oauth2Server.login`: every login path then shares one count.
 */
export function passwordLogin (options: PasswordLoginOptions): PasswordLogin {
  if (typeof options?.verifyUser !== 'function') {
    throw new errors.WARDEN_ERR_OPTION('verifyUser', 'must be a function (username, password, request) => grant | null')
  }
  const scopes = new Set(options.scopes)
  const roles = roleOption(options.roles, scopes)
  return createLogin(options.verifyUser, scopes, loginSettings(options), options.isCurrent, roles)
}

/** The `roles` option, checked at registration: each role non-empty by name, granting scopes of `catalog`. */
export function roleOption (roles: unknown, catalog: ReadonlySet<string>): RoleScopes | undefined {
  if (roles === undefined) return undefined
  if (roles === null || typeof roles !== 'object' || Array.isArray(roles)) {
    throw new errors.WARDEN_ERR_OPTION('roles', 'must be an object of role name to scopes')
  }
  const checked = new Map<string, readonly string[]>()
  for (const [name, granted] of Object.entries(roles)) {
    if (name.trim() === '') throw new errors.WARDEN_ERR_OPTION('roles', 'must name every role (an empty role name)')
    if (!Array.isArray(granted) || !granted.every((s) => typeof s === 'string')) {
      throw new errors.WARDEN_ERR_OPTION(`roles.${name}`, 'must be an array of scope names')
    }
    const unknown = granted.find((s) => !catalog.has(s))
    if (unknown !== undefined) {
      throw new errors.WARDEN_ERR_OPTION(`roles.${name}`, `names scope '${unknown}', which is not declared`)
    }
    checked.set(name, Object.freeze([...new Set(granted)]))
  }
  return checked
}

/** An `acr`: visible ASCII without space (`acr_values` lists are space-separated), 1 to 255 characters. */
export const isAcr = (value: unknown): value is string => typeof value === 'string' && /^[\x21-\x7e]{1,255}$/.test(value)

/** The library's claims: an app's would name a key never checked, or an authentication refreshed tokens drop. */
const SESSION_CLAIMS = ['acr', 'auth_time', 'cnf']

/**
 * What the app's verifier returned, checked: a wrong shape fails closed (no grant, the fault
 * logged naming the callback and field), and only scopes the scheme grants are kept.
 */
export function checkUserGrant (
  request: FastifyRequest, callback: string, answer: unknown, scopes: ReadonlySet<string>, roles?: RoleScopes
): UserGrant | null {
  const withRoles = withRoleScopes(answer, roles)
  if ('fault' in withRoles) {
    callbackFault(request, callback, withRoles.fault, withRoles.expected)
    return null
  }
  const value = withRoles.value
  const grant = checkGrant(value, scopes)
  if (grant === null) return null
  if ('fault' in grant) {
    callbackFault(request, callback, grant.fault, grant.expected)
    return null
  }
  const { claims, credential, acr, roles: named } = value as { claims?: unknown, credential?: unknown, acr?: unknown, roles?: string[] }
  if (claims !== undefined && (claims === null || typeof claims !== 'object' || Array.isArray(claims))) {
    callbackFault(request, callback, 'claims', 'must be an object')
    return null
  }
  if (claims !== undefined && SESSION_CLAIMS.some((name) => Object.hasOwn(claims, name))) {
    callbackFault(request, callback, 'claims', `must not name ${SESSION_CLAIMS.join(', ')}: the library sets them (report acr as acr)`)
    return null
  }
  if (acr !== undefined && !isAcr(acr)) {
    callbackFault(request, callback, 'acr', 'must be 1 to 255 visible ASCII characters, without space')
    return null
  }
  if (credential !== undefined && !(Number.isSafeInteger(credential) && (credential as number) >= 0)) {
    callbackFault(request, callback, 'credential', 'must be a non-negative integer (a version that grows with every change)')
    return null
  }
  return {
    subject: grant.subject,
    scopes: grant.scopes,
    ...(named === undefined ? {} : { roles: Object.freeze([...named]) }),
    ...(claims === undefined ? {} : { claims: claims as Record<string, unknown> }),
    ...(credential === undefined ? {} : { credential: credential as number }),
    ...(acr === undefined ? {} : { acr })
  }
}
