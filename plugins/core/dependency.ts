import { Availability, type AvailabilityLogger } from './availability.js'

/** A dependency's state as its callers see it; `log` is the caller's (a request's) log. */
export interface Dependency {
  readonly up: boolean
  failed (err: unknown, log?: AvailabilityLogger): void
  succeeded (log?: AvailabilityLogger): void
}

/**
 * `Availability` for a dependency met on requests: one line when an outage starts and one when
 * it ends, to `log` when given, else to the log of the request that saw the change (so the line
 * carries its id). It is back only once a call succeeds `settle` ms after the last failure: a
 * dependency half down (a Cluster with one master gone, a store failing one kind of call) is one
 * outage, not a line per request.
 */
export function dependency (name: string, log?: AvailabilityLogger, settle = 1000, now: () => number = Date.now): Dependency {
  let caller: AvailabilityLogger | undefined
  let lastFailure = 0
  const availability = new Availability(name, {
    warn: (details, message) => { (log ?? caller)?.warn(details, message) },
    info: (details, message) => { (log ?? caller)?.info(details, message) }
  }, now)
  // Availability reports synchronously, so the caller's log is the one in place for the call.
  const as = (through: AvailabilityLogger | undefined, report: () => void): void => {
    caller = through
    try { report() } finally { caller = undefined }
  }
  return {
    get up () { return availability.up },
    failed (err, through) {
      lastFailure = now()
      if (availability.up) as(through, () => { availability.failed(err instanceof Error ? err : new Error(String(err))) })
    },
    succeeded (through) {
      if (!availability.up && now() - lastFailure >= settle) as(through, () => { availability.succeeded() })
    }
  }
}

/**
 * `run()`'s answer, at once when it answers at once or once it settles, with whatever it throws
 * or rejects with passed through `fault` (which throws): a dependency's failure named for what it is.
 */
export function faultsAs<T> (run: () => T | Promise<T>, fault: (err: unknown) => never): T | Promise<T> {
  let answer: T | Promise<T>
  try {
    answer = run()
  } catch (err) {
    return fault(err)
  }
  return answer instanceof Promise ? answer.catch(fault) : answer
}
