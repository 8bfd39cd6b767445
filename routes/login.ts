import type { FastifyRequest } from 'fastify'
import { securityEvent, type PasswordHasher } from '../plugins/index.js'
import type { UserStore, User } from '../stores/users.js'
import type { LoginAttempts } from '../stores/login-attempts.js'

/** A login's outcome: the user, a refusal, or a lock (seconds to wait). */
export type LoginResult = { user: User } | { lockedFor: number } | null

/**
 * Check a user name and password, for the password grant and for HTTP Basic alike. An unknown
 * user costs a dummy hash; an inactive one is refused like a wrong password; an old hash
 * (other argon2 parameters, or bcrypt from a passlib import) is replaced after a good login.
 * Consecutive failures lock the account (see LoginAttempts); while locked, no password is checked.
 */
export function createLogin (users: UserStore, passwords: PasswordHasher, attempts: LoginAttempts) {
  // The lock is a second line behind the rate limits: if its store fails, logins go on.
  const safely = async <T>(request: FastifyRequest, action: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await action()
    } catch (err) {
      request.log.error({ err }, 'login-attempt store unavailable')
      return fallback
    }
  }

  return async function login (username: string, password: string, request: FastifyRequest): Promise<LoginResult> {
    const locked = await safely(request, async () => await attempts.lockedFor(username), 0)
    if (locked > 0) {
      securityEvent(request, 'auth.login.locked', { reason: 'account locked after failed logins', retry_after: locked })
      return { lockedFor: locked }
    }
    const user = await users.findByUsername(username)
    const check = await passwords.verify(user?.passwordHash, password)
    if (user === null || !check.ok || !user.active) {
      const lock = await safely(request, async () => await attempts.fail(username), 0)
      securityEvent(request, 'auth.login.failed', { reason: 'invalid credentials', ...(lock > 0 ? { locked_for: lock } : {}) })
      return null
    }
    await safely(request, async () => { await attempts.reset(username) }, undefined)
    if (check.needsRehash) {
      await users.setPasswordHash(user.id, await passwords.hash(password), false)
      request.log.info({ subject: user.id }, 'password hash upgraded')
    }
    return { user }
  }
}

export type Login = ReturnType<typeof createLogin>
