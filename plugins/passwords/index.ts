import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'node:net'
import argon2 from 'argon2'
import { errors } from '../errors.js'
import { integerOption } from '../core/option-checks.js'
import { watch } from '../core/telemetry.js'
import { childProcessHashing } from './child-process.js'
import { inProcess, isBcrypt } from './hashing.js'

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
   * How long a refused check waits before its refusal is answered, ms on average: holding it
   * costs a timer, no CPU, and a client that loops on refusals (a login storm) then sends one a
   * connection per pause instead of thousands a second, so the rest of the API keeps its share
   * (PAM's fail delay, for load). Each pause is drawn between half and one and a half times it,
   * so clients refused together do not come back together. Default 1000, what the 503's
   * Retry-After asks anyway; 0 answers at once.
   */
  refusalDelay?: number
  /**
   * Refusals answered per second, at most on average: when more are waiting than this rate
   * answers within `refusalDelay`, each waits longer (the waiting ones divided by the rate), so a
   * storm of 200 looping clients costs the CPU of this many refusals a second, as one of 20 does.
   * Each refusal is a request the server parses and answers, about the cost of any other.
   * Default 50.
   */
  refusalRate?: number
  /**
   * Hash in a child process of its own, at a lower CPU priority (`priority`), instead of on this
   * process's libuv thread pool: the kernel then gives the hashing only the CPU the event loop
   * leaves, and a login storm no longer delays the other routes' answers. The process starts
   * on the first hash (~50 ms), again after a crash, and ends with `close()` or with this one.
   * Default false.
   */
  isolate?: boolean
  /**
   * The hashing process's CPU priority with `isolate`: `'idle'` (default) is Linux's idle
   * scheduling class (SCHED_IDLE, through util-linux's `chrt`; nice 19 where that is missing),
   * which any other waking thread preempts at once; a number is a nice value, 0 (as this
   * process) to 19.
   */
  priority?: 'idle' | number
}

export interface PasswordHasher {
  hash(password: string): Promise<string>
  /**
   * Check a password against a stored hash: argon2id, or bcrypt (`$2a$`/`$2b$`/`$2y$`, as passlib
   * writes them). With no hash (unknown user) a dummy hash is checked instead, so the answer
   * takes as long as for a wrong password. `true` only for the right password.
   */
  verify(hash: string | null | undefined, password: string, request?: LoginRequest): Promise<boolean>
  /**
   * Whether a hash that just verified was made with other parameters or another algorithm
   * (bcrypt): then hash the password again and store the new hash.
   */
  needsRehash(hash: string): boolean
  /**
   * Refuse now, as `verify()` would (`WARDEN_ERR_BUSY`, after the refusal delay), if a check
   * arriving now would find the queue full; resolve otherwise. Call it before looking the user
   * up, so a login the hasher cannot take costs no database query (`verify()` still refuses if
   * the queue filled meanwhile). With the login's `request`, a refusal whose client has left
   * stops waiting at once and no longer slows the others' (see `refusalRate`).
   */
  refuseIfBusy(request?: LoginRequest): Promise<void>
  /** Hashes running and checks waiting now (for health reports and tests). */
  load(): { running: number; queued: number }
  /** End the hashing process (`isolate`); checks still running fail. Nothing to do otherwise. */
  close(): Promise<void>
}

/** The request of a login, whose connection closing ends the wait of its refusal. */
export interface LoginRequest {
  readonly raw: { readonly socket: Socket | null }
}

/** Sleep `ms`, or less if the client's connection closes first. */
async function pauseWhileConnected (ms: number, socket: Socket | null | undefined): Promise<void> {
  if (socket === null || socket === undefined) return await sleep(ms)
  if (socket.destroyed) return
  const left = new AbortController()
  const abort = (): void => {
    left.abort()
  }
  socket.once('close', abort)
  try {
    await sleep(ms, undefined, { signal: left.signal })
  } catch {
    // The client left: nobody waits for this refusal any more.
  } finally {
    socket.off('close', abort)
  }
}

/** Bounded concurrency with a bounded queue: beyond it, refuse at once rather than pile up. */
class Gate {
  #running = 0
  readonly #waiting: Array<() => void> = []
  #refusing = 0
  constructor (
    readonly concurrency: number,
    readonly queue: number,
    readonly refusal: { delay: number; rate: number }
  ) {}

  get load (): { running: number; queued: number } {
    return { running: this.#running, queued: this.#waiting.length }
  }

  get full (): boolean {
    return this.#running >= this.concurrency && this.#waiting.length >= this.queue
  }

  /** Refused: answered after a pause drawn around the refusal delay, holding no slot meanwhile. */
  async refuse (request?: LoginRequest): Promise<never> {
    const busy = new errors.WARDEN_ERR_BUSY(`${this.#running} running, ${this.#waiting.length} waiting`)
    if (this.refusal.delay > 0) {
      // The refusals waiting now, this one too, are answered at the refusal rate. Those whose
      // clients gave up (a client timeout, then a new connection) stop counting: a storm of
      // clients that time out must not stretch every pause without end.
      const pause = Math.max(this.refusal.delay, (1000 * ++this.#refusing) / this.refusal.rate)
      try {
        await pauseWhileConnected(pause * (0.5 + Math.random()), request?.raw.socket)
      } finally {
        this.#refusing--
      }
    }
    throw busy
  }

  async run<T>(task: () => Promise<T>, request?: LoginRequest): Promise<T> {
    if (this.full) return await this.refuse(request)
    if (this.#running < this.concurrency) {
      this.#running++
    } else {
      // The slot is handed over by the task that ends, so #running stays as it is.
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve)
      })
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

/** argon2id hashing with OWASP parameters by default; bcrypt hashes verify and ask to be rehashed. */
export function createPasswordHasher (opts: PasswordHasherOptions = {}): PasswordHasher {
  const params = {
    type: argon2.argon2id,
    memoryCost: integerOption('memoryCost', opts.memoryCost, 19_456, 1_024, 4_194_304),
    timeCost: integerOption('timeCost', opts.timeCost, 2, 1, 100),
    parallelism: integerOption('parallelism', opts.parallelism, 1, 1, 16)
  }
  const concurrency = integerOption('concurrency', opts.concurrency, Math.max(1, availableParallelism() - 1), 1, 1024)
  const gate = new Gate(concurrency, integerOption('queue', opts.queue, 4 * concurrency, 0, 100_000), {
    delay: integerOption('refusalDelay', opts.refusalDelay, 1000, 0, 60_000),
    rate: integerOption('refusalRate', opts.refusalRate, 50, 1, 1_000_000)
  })
  if (opts.isolate !== undefined && typeof opts.isolate !== 'boolean') throw new errors.WARDEN_ERR_OPTION('isolate', 'must be a boolean')
  const priority = opts.priority ?? 'idle'
  if (priority !== 'idle' && !(Number.isInteger(priority) && priority >= 0 && priority <= 19)) {
    throw new errors.WARDEN_ERR_OPTION('priority', "must be 'idle' or a nice value, an integer from 0 to 19")
  }
  if (opts.priority !== undefined && opts.isolate !== true) throw new errors.WARDEN_ERR_OPTION('priority', 'applies only with isolate: true')
  const hashing = opts.isolate === true ? childProcessHashing(priority) : inProcess
  watch('hashing', gate, (g) => [
    [g.load.running, { 'warden.state': 'running' }],
    [g.load.queued, { 'warden.state': 'queued' }]
  ])
  let dummy: Promise<string> | undefined

  async function hash (password: string): Promise<string> {
    return await gate.run(async () => await hashing.hash(password, params))
  }

  async function verify (stored: string | null | undefined, password: string, request?: LoginRequest): Promise<boolean> {
    if (typeof stored === 'string' && (stored.startsWith('$argon2') || isBcrypt(stored))) {
      return await gate.run(async () => await hashing.verify(stored, password), request)
    }
    // Made once; a failed attempt (the hashing process died) is not kept.
    dummy ??= hashing.hash('fastify-warden dummy password', params).catch((err: unknown) => {
      dummy = undefined
      throw err
    })
    const known = await dummy
    await gate.run(async () => await hashing.verify(known, password), request)
    return false
  }

  function needsRehash (stored: string): boolean {
    return !stored.startsWith('$argon2id$') || argon2.needsRehash(stored, params)
  }

  return {
    hash,
    verify,
    needsRehash,
    async refuseIfBusy (request) {
      if (gate.full) await gate.refuse(request)
    },
    load: () => gate.load,
    async close () {
      await hashing.close()
    }
  }
}
