import argon2 from 'argon2'
import bcrypt from 'bcryptjs'

/** argon2id's cost parameters, as `argon2.hash()` takes them. */
export interface Argon2Parameters {
  type: typeof argon2.argon2id
  memoryCost: number
  timeCost: number
  parallelism: number
}

/** Where the hashes are computed: in this process, or in a child process (`child-process.ts`). */
export interface Hashing {
  hash (password: string, params: Argon2Parameters): Promise<string>
  /** argon2 or bcrypt, by the hash's prefix; a malformed hash verifies nothing. */
  verify (hash: string, password: string): Promise<boolean>
  close (): Promise<void>
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/

export function isBcrypt (hash: string): boolean {
  return BCRYPT.test(hash)
}

/** argon2 on libuv's thread pool, bcrypt (bcryptjs) on the event loop in short steps. */
export const inProcess: Hashing = {
  async hash (password, params) {
    return await argon2.hash(password, params)
  },
  async verify (hash, password) {
    if (isBcrypt(hash)) return await bcrypt.compare(password, hash)
    return await argon2.verify(hash, password).catch(() => false)
  },
  async close () {}
}
