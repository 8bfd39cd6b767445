import type { FastifyRequest } from 'fastify'
import type { WardenUser } from '../core/types.js'

/** What `verify` returns for a valid user name and password. */
export interface BasicAuthUser {
  subject: string
  scopes: readonly string[]
  user?: WardenUser
}

export interface BasicAuthOptions {
  /** Scheme name. Default `'basic'`. */
  name?: string
  /** Realm of the `Basic` challenge. Default: the core's realm. */
  realm?: string
  description?: string
  /**
   * Check a user name and password; `null` when they do not match. Use a `PasswordHasher`
   * (`createPasswordHasher()`), whose `verify(undefined, password)` checks a dummy hash, so an
   * unknown user takes as long as a wrong password.
   */
  verify: (
    username: string,
    password: string,
    request: FastifyRequest
  ) => BasicAuthUser | null | PromiseLike<BasicAuthUser | null>
  /** Scopes this scheme grants; a subset of the core's catalog, all of it by default. */
  scopes?: string[]
}
