import { errors } from '../errors.js'
import { assertHeaderSafe } from './challenge.js'

/** Option checks shared by every plugin; each error names the option at fault. */

export function stringOption (name: string, value: unknown, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'string' || value.length === 0) throw new errors.WARDEN_ERR_OPTION(name, 'must be a non-empty string')
  return value
}

export function integerOption (name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new errors.WARDEN_ERR_OPTION(name, `must be an integer from ${min} to ${max}`)
  }
  return value
}

export function booleanOption (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new errors.WARDEN_ERR_OPTION(name, 'must be a boolean')
  return value
}

export function functionOption<F extends (...args: never[]) => unknown> (name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new errors.WARDEN_ERR_OPTION(name, 'must be a function')
  return value as F
}

/** A path on this server (`/…`), used for routes a plugin registers and URLs it documents. */
export function pathOption (name: string, value: unknown, fallback: string): string {
  const path = stringOption(name, value, fallback)
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(path)) throw new errors.WARDEN_ERR_OPTION(name, 'must be an absolute path such as /auth/token')
  return path
}

/** An absolute or server-relative URL. */
export function urlOption (name: string, value: unknown, fallback?: string): string {
  const url = stringOption(name, value, fallback)
  if (url.startsWith('/')) return pathOption(name, url, url)
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme')
  } catch {
    throw new errors.WARDEN_ERR_OPTION(name, 'must be an http(s) URL or an absolute path')
  }
  return url
}

/**
 * The scopes a scheme may grant: a subset of the core's catalog, all of it by default.
 */
export function scopesOption (name: string, value: unknown, catalog: Readonly<Record<string, string>>): ReadonlySet<string> {
  if (value === undefined) return new Set(Object.keys(catalog))
  if (!Array.isArray(value)) throw new errors.WARDEN_ERR_OPTION(name, 'must be an array of scope names')
  for (const scope of value) {
    if (typeof scope !== 'string' || !Object.hasOwn(catalog, scope)) {
      throw new errors.WARDEN_ERR_OPTION(name, `names scope '${String(scope)}' that is not in the warden 'scopes' catalog`)
    }
  }
  return new Set(value as string[])
}

/** What every scheme reads alike: its name, the realm of its challenge, the scopes it grants. */
export function schemeOptions (
  core: { realm: string, scopes: Readonly<Record<string, string>> },
  opts: { name?: string, realm?: string, scopes?: string[] },
  defaultName: string
): { name: string, realm: string, scopes: ReadonlySet<string> } {
  const realm = opts.realm ?? core.realm
  assertHeaderSafe('realm', realm)
  return { name: stringOption('name', opts.name, defaultName), realm, scopes: scopesOption('scopes', opts.scopes, core.scopes) }
}

/** The descriptions of `scopes` from the catalog, in the catalog's order: what a flow documents. */
export function scopeDescriptions (catalog: Readonly<Record<string, string>>, scopes: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(catalog).filter(([s]) => scopes.has(s)))
}

/** Secrets that sign or hash (HS256 keys, API-key digests) carry at least 256 bits (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32

/** What is wrong with a secret, or `undefined`: the one check, whoever names the value (an option, a variable). */
export function secretFault (secret: unknown): string | undefined {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) return 'must be a string or a Buffer'
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) return `must be at least ${MIN_SECRET_BYTES} bytes`
  return undefined
}
