import type { FastifyRequest } from 'fastify'
import type { PasswordHasher } from '../plugins/index.js'
import type { UserStore, User } from '../stores/users.js'

/**
 * Check a user name and password, for the password grant and for HTTP Basic alike. An unknown
 * user costs a dummy hash; an inactive one is refused like a wrong password; an old hash
 * (other argon2 parameters, or bcrypt from a passlib import) is replaced after a good login.
 */
export function createLogin (users: UserStore, passwords: PasswordHasher) {
  return async function login (username: string, password: string, request: FastifyRequest): Promise<User | null> {
    const user = await users.findByUsername(username)
    const check = await passwords.verify(user?.passwordHash, password)
    if (user === null || !check.ok || !user.active) return null
    if (check.needsRehash) {
      await users.setPasswordHash(user.id, await passwords.hash(password), false)
      request.log.info({ subject: user.id }, 'password hash upgraded')
    }
    return user
  }
}

export type Login = ReturnType<typeof createLogin>
