import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import argon2 from 'argon2'
import bcrypt from 'bcryptjs'
import { errors } from './core/errors.js'
import { integerOption } from './core/options.js'

export interface PasswordHasherOptions {
  /** argon2id memory in KiB. Default 19456 (19 MiB, OWASP). */
  memoryCost?: number
  /** argon2id iterations. Default 2 (OWASP). */
  timeCost?: number
  /** argon2id lanes. Default 1 (OWASP). */
  parallelism?: number
  /**
   * Hashes computed at once. Default: the cores less one (at least one), so a flood of logins
   * leaves the event loop, and every other route, its share of the CPU.
   */
  concurrency?: number
  /**
   * Password checks that may wait for a free slot; one more is refused with `WARDEN_ERR_BUSY`
   * (a 503 with Retry-After), before any hashing. Default 4 per slot: a login waits at most that
   * many hashes.
   */
  queue?: number
  /**
   * How long a refused check waits before its refusal is answered, ms: holding it costs a timer,
   * no CPU, and a client that loops on refusals (a login storm) then sends one a connection
   * per pause instead of thousands a second, so the rest of the API keeps its share (PAM's fail
   * delay, for load). Default 1000, what the 503's Retry-After asks anyway; 0 answers at once.
   */
  refusalDelay?: number
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
  /** Hashes running and checks waiting now (for health reports and tests). */
  load (): { running: number, queued: number }
}

/** Bounded concurrency with a bounded queue: beyond it, refuse at once rather than pile up. */
class Gate {
  #running = 0
  readonly #waiting: Array<() => void> = []
  constructor (readonly concurrency: number, readonly queue: number, readonly refusalDelay: number) {}

  get load (): { running: number, queued: number } {
    return { running: this.#running, queued: this.#waiting.length }
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) {
      this.#running++
    } else {
      if (this.#waiting.length >= this.queue) {
        const busy = new errors.WARDEN_ERR_BUSY(`${this.#running} running, ${this.#waiting.length} waiting`)
        if (this.refusalDelay > 0) await sleep(this.refusalDelay)
        throw busy
      }
      // The slot is handed over by the task that ends, so #running stays as it is.
      await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#running--
    }
  }
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
  const concurrency = integerOption('concurrency', opts.concurrency, Math.max(1, availableParallelism() - 1), 1, 1024)
  const gate = new Gate(concurrency, integerOption('queue', opts.queue, 4 * concurrency, 0, 100_000), integerOption('refusalDelay', opts.refusalDelay, 1000, 0, 60_000))
  let dummy: Promise<string> | undefined

  async function hash (password: string): Promise<string> {
    return await gate.run(async () => await argon2.hash(password, params))
  }

  async function verify (stored: string | null | undefined, password: string): Promise<boolean> {
    if (typeof stored === 'string' && stored.startsWith('$argon2')) return await gate.run(async () => await argon2.verify(stored, password).catch(() => false))
    if (typeof stored === 'string' && BCRYPT.test(stored)) return await gate.run(async () => await bcrypt.compare(password, stored))
    dummy ??= argon2.hash('fastify-warden dummy password', params)
    const known = await dummy
    await gate.run(async () => await argon2.verify(known, password).catch(() => false))
    return false
  }

  function needsRehash (stored: string): boolean {
    return !stored.startsWith('$argon2id$') || argon2.needsRehash(stored, params)
  }

  return { hash, verify, needsRehash, load: () => gate.load }
}
