/** What start-up waited for and did not get; the process ends with its message (host:port, never a secret). */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** An error retrying cannot mend (a certificate refused, a password refused): start-up stops at once. */
export class PermanentFault extends Error {
  override name = 'PermanentFault'
}

export interface RetryOptions {
  /** How long to keep trying (ms). */
  timeout: number
  /** One line per failed attempt. */
  log: (line: string) => void
  /** First wait (ms), doubled after each failure up to `maxDelay`. Default 500 ms. */
  firstDelay?: number
  /** Default 10 s. */
  maxDelay?: number
}

/** An error as one line: its message (or code), without any `user:password@` a URL in it may carry. */
export function reasonOf (err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }
  const text = typeof message === 'string' && message !== '' ? message : String(code ?? err)
  const withCode = typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
  return withCode.replace(/\/\/[^/@\s]*@/g, '//')
}

/**
 * Call `attempt` until it succeeds: a dependency starting with or after this process (a database
 * container still booting) is waited for, with exponential backoff, for at most `timeout`.
 * `transient` tells which failures are worth another try; `what` names the dependency and where
 * it is (host:port) in every line.
 */
export async function untilAvailable<T> (what: string, attempt: () => Promise<T>, transient: (err: unknown) => boolean, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeout
  let delay = options.firstDelay ?? 500
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      const reason = reasonOf(err)
      if (err instanceof PermanentFault || !transient(err)) throw new StartupError(`${what}: ${reason}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new StartupError(`${what} did not answer within ${options.timeout / 1000} s (${n} attempts; last: ${reason})`)
      const wait = Math.min(delay, left)
      options.log(`${what} is not available (${reason}); attempt ${n} failed, next in ${Math.round(wait / 100) / 10} s`)
      await new Promise((resolve) => setTimeout(resolve, wait))
      delay = Math.min(delay * 2, options.maxDelay ?? 10_000)
    }
  }
}
