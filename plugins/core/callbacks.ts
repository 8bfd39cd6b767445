import type { FastifyRequest } from 'fastify'
import { securityEvent } from './events.js'

/**
 * A dependency an authentication check needs did not answer: an app callback threw, a store is
 * down, a provider's key set cannot be fetched. The core answers 503 with Retry-After: the
 * caller's credential is not to blame, and must not be sent back to log in.
 */
export class DependencyUnavailable extends Error {
  constructor (readonly scheme: string, cause: unknown) {
    super(`security scheme '${scheme}' could not check the credential`, { cause })
  }
}

/**
 * What an app's callback returned does not have the shape fastify-warden needs: the request
 * fails closed (its credential counts as invalid) and the fault is logged, naming the callback
 * and the field.
 */
export function callbackFault (request: FastifyRequest, callback: string, field: string, expected: string): void {
  securityEvent(request, 'auth.callback.invalid', { callback, field, expected }, `${callback} returned a value fastify-warden refuses: ${field} ${expected}`)
}

/** Any thenable, as `await` sees one: an app's callback may answer with a query builder or another promise library's promise. */
export function isThenable<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<T>).then === 'function'
}

/**
 * Go on with what an app's callback answered, now when it answered at once, or once it settles:
 * a thenable that is not a native Promise is awaited too, never taken for the answer itself.
 */
export function afterCallback<T, R> (value: T | PromiseLike<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value)
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

/**
 * Check a grant an app callback returned (`{ subject, scopes, user? }` or null) and keep only
 * the scopes the scheme declares. Returns the field at fault instead when the shape is wrong.
 */
export function checkGrant (value: unknown, declared: ReadonlySet<string>): { subject: string, scopes: readonly string[], user?: Record<string, unknown> } | null | { fault: string, expected: string } {
  if (value === null) return null
  if (!isObject(value)) return { fault: '(result)', expected: 'must be an object or null' }
  if (typeof value.subject !== 'string' || value.subject.length === 0) return { fault: 'subject', expected: 'must be a non-empty string' }
  const scopes = value.scopes
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) return { fault: 'scopes', expected: 'must be an array of scope names' }
  if (value.user !== undefined && !isObject(value.user)) return { fault: 'user', expected: 'must be an object' }
  // Scopes the scheme does not declare are never granted, whatever the callback says.
  const granted = Object.freeze(scopes.filter((s, i) => declared.has(s) && scopes.indexOf(s) === i))
  return { subject: value.subject, scopes: granted, ...(value.user === undefined ? {} : { user: value.user }) }
}

/** Seconds since the epoch, as records carry expiry: a finite number below 10^11 (year 5138), so milliseconds are refused. */
export function isEpochSeconds (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e11
}
