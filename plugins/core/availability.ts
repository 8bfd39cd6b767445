import { watch } from './telemetry.js'

/** The part of a pino (or console-like) logger a dependency's state is reported through. */
export interface AvailabilityLogger {
  warn (details: object, message: string): void
  info (details: object, message: string): void
}

/**
 * Whether a dependency (Redis, the database) answers, as seen by its callers. An outage is one
 * `warn` line when it starts and one `info` line when it ends, however many requests meet it
 * meanwhile: a storm of failures must not become a storm of stack traces.
 */
export class Availability {
  readonly name: string
  readonly #log: AvailabilityLogger
  readonly #now: () => number
  readonly #listeners: Array<(up: boolean) => void> = []
  #downSince: number | undefined

  constructor (name: string, log: AvailabilityLogger, now: () => number = Date.now) {
    this.name = name
    this.#log = log
    this.#now = now
    watch('dependencies', this, (a) => [[a.up ? 1 : 0, { 'warden.dependency': a.name }]])
  }

  /** False from a failure until the next success. */
  get up (): boolean {
    return this.#downSince === undefined
  }

  /** Be told of every change of state (metrics, a health route). */
  onChange (listener: (up: boolean) => void): void {
    this.#listeners.push(listener)
  }

  /** A call failed because the dependency did not answer. Logged only when this starts an outage. */
  failed (err: Error): void {
    if (this.#downSince !== undefined) return
    this.#downSince = this.#now()
    // The message only: a driver's stack says nothing to an operator, and its error object may
    // carry connection options.
    this.#log.warn({ dependency: this.name, reason: err.message, code: (err as { code?: unknown }).code }, `${this.name} unavailable`)
    for (const listener of this.#listeners) listener(false)
  }

  /** A call succeeded. Logged only when this ends an outage. */
  succeeded (): void {
    if (this.#downSince === undefined) return
    const downFor = this.#now() - this.#downSince
    this.#downSince = undefined
    this.#log.info({ dependency: this.name, down_ms: downFor }, `${this.name} available again`)
    for (const listener of this.#listeners) listener(true)
  }

  /** Run `call`, recording whether the dependency answered; its result or error is passed on. */
  async track<T> (call: () => Promise<T>): Promise<T> {
    try {
      const value = await call()
      this.succeeded()
      return value
    } catch (err) {
      this.failed(err as Error)
      throw err
    }
  }
}
