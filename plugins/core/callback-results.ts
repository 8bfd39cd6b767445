import type { FastifyRequest } from 'fastify'
import { securityEvent } from './events.js'

/**
 * What an app's callback returned does not have the shape fastify-warden needs: the request
 * fails closed (its credential counts as invalid) and the fault is logged, naming the callback
 * and the field.
 */
export function callbackFault (request: FastifyRequest, callback: string, field: string, expected: string): void {
  securityEvent(request, 'auth.callback.invalid', { callback, field, expected }, `${callback} returned a value fastify-warden refuses: ${field} ${expected}`)
}

/**
 * Go on with what an app's callback answered, now when it answered at once, or once it settles.
 * Any thenable is awaited as `await` would (an object or a function with a `then`: a knex or
 * Kysely query, another promise library's promise), never taken for the answer itself; its
 * `then` is read once, so a getter cannot answer one thing to the check and another to the call.
 * A `then` that throws is a rejection.
 */
export function afterCallback<T, R> (value: T | PromiseLike<T>, next: (value: T) => R): R | Promise<Awaited<R>> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return next(value as T)
  let then: unknown
  try {
    then = (value as PromiseLike<T>).then
  } catch (err) {
    return Promise.reject(err)
  }
  if (typeof then !== 'function') return next(value as T)
  return new Promise<T>((resolve, reject) => {
    then.call(value, resolve, reject)
  }).then(next) as Promise<Awaited<R>>
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

/**
 * Check a grant an app callback returned (`{ subject, scopes, user? }` or null) and keep only
 * the scopes the scheme declares. Returns the field at fault instead when the shape is wrong.
 */
export function checkGrant (
  value: unknown,
  declared: ReadonlySet<string>
): { subject: string; scopes: readonly string[]; user?: Record<string, unknown> } | null | { fault: string; expected: string } {
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

/** Role name → the scopes it grants: the `roles` option, checked. */
export type RoleScopes = ReadonlyMap<string, readonly string[]>

type Fault = { fault: string; expected: string }

/**
 * A grant that names `roles` gets their scopes beside any `scopes` it names (the union). A wrong
 * shape, an unknown role, or roles without the `roles` option are a fault: the grant fails closed.
 */
export function withRoleScopes (value: unknown, roles: RoleScopes | undefined): { value: unknown } | Fault {
  if (!isObject(value) || value.roles === undefined) return { value }
  const named = value.roles
  if (!Array.isArray(named) || !named.every((r) => typeof r === 'string')) {
    return { fault: 'roles', expected: 'must be an array of role names' }
  }
  if (roles === undefined) return { fault: 'roles', expected: 'needs the roles option (role name to scopes)' }
  if (!named.every((r) => roles.has(r))) return { fault: 'roles', expected: 'must name roles of the roles option' }
  const fromRoles = named.flatMap((r) => roles.get(r)!)
  const scopes = value.scopes
  // Scopes of another shape are left as they are, for checkGrant to name.
  const merged = scopes === undefined ? fromRoles : Array.isArray(scopes) ? [...scopes, ...fromRoles] : scopes
  return { value: { ...value, scopes: merged } }
}

/** Seconds since the epoch, as records carry expiry: a finite number below 10^11 (year 5138), so milliseconds are refused. */
export function isEpochSeconds (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e11
}
