import argon2 from 'argon2'
import bcrypt from 'bcryptjs'
import { integerOption } from './options.js'

export interface PasswordHasherOptions {
  /** argon2id memory in KiB. Default 19456 (19 MiB, OWASP). */
  memoryCost?: number
  /** argon2id iterations. Default 2 (OWASP). */
  timeCost?: number
  /** argon2id lanes. Default 1 (OWASP). */
  parallelism?: number
}

export interface PasswordHasher {
  hash (password: string): Promise<string>
  /**
   * Check a password against a stored hash: argon2id, or bcrypt (`$2a$`/`$2b$`/`$2y$`, as passlib
   * writes them). With no hash (unknown user) a dummy hash is checked instead, so the answer
   * takes as long as for a wrong password. `true` only for the right password.
   */
  verify (hash: string | null | undefined, password: string): Promise<boolean>
  /**
   * Whether a hash that just verified was made with other parameters or another algorithm
   * (bcrypt): then hash the password again and store the new hash.
   */
  needsRehash (hash: string): boolean
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/

/** argon2id hashing with OWASP parameters by default; bcrypt hashes verify and ask to be rehashed. */
export function createPasswordHasher (opts: PasswordHasherOptions = {}): PasswordHasher {
  const params = {
    type: argon2.argon2id,
    memoryCost: integerOption('memoryCost', opts.memoryCost, 19_456, 1_024, 4_194_304),
    timeCost: integerOption('timeCost', opts.timeCost, 2, 1, 100),
    parallelism: integerOption('parallelism', opts.parallelism, 1, 1, 16)
  }
  let dummy: Promise<string> | undefined

  async function hash (password: string): Promise<string> {
    return await argon2.hash(password, params)
  }

  async function verify (stored: string | null | undefined, password: string): Promise<boolean> {
    if (typeof stored === 'string' && stored.startsWith('$argon2')) return await argon2.verify(stored, password).catch(() => false)
    if (typeof stored === 'string' && BCRYPT.test(stored)) return await bcrypt.compare(password, stored)
    dummy ??= hash('fastify-warden dummy password')
    await argon2.verify(await dummy, password).catch(() => false)
    return false
  }

  function needsRehash (stored: string): boolean {
    return !stored.startsWith('$argon2id$') || argon2.needsRehash(stored, params)
  }

  return { hash, verify, needsRehash }
}
