import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { errors } from '../errors.js'
import { safeEqual } from '../core/compare.js'
import { secretFault } from '../core/option-checks.js'

/**
 * Where an API key is hashed. What is stored is HMAC-SHA256 of the key under the server's
 * `secret`, base64url: a leaked table cannot be tried offline without the secret.
 */
export class ApiKeyHasher {
  readonly #key: KeyObject

  constructor (option: string, secret: unknown) {
    const fault = secretFault(secret)
    if (fault !== undefined) throw new errors.WARDEN_ERR_OPTION(option, fault)
    this.#key = createSecretKey(Buffer.from(secret as string | Buffer))
  }

  #mac (key: string): Buffer {
    return createHmac('sha256', this.#key).update(key).digest()
  }

  /** The digest to store for a key. */
  digest (key: string): string {
    return this.#mac(key).toString('base64url')
  }

  /**
   * Whether `key` is the key of a stored `digest`, in constant time. The HMAC is computed even
   * without a digest (nothing found), so a miss costs what a wrong key costs.
   */
  matches (key: string, digest: string | undefined): boolean {
    const actual = this.#mac(key)
    return digest !== undefined && safeEqual(Buffer.from(digest, 'base64url'), actual)
  }
}
