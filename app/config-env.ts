import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseEnv } from 'node:util'

/** A configuration problem, naming the variable; start-up stops with it. */
export class ConfigError extends Error {
  constructor (readonly variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

/** Secrets that may also come from a file named by `NAME_FILE` (Docker and Kubernetes secrets). */
const FILE_VARIABLES = [
  'JWT_SECRET_KEY', 'API_KEY_SECRET', 'DPOP_NONCE_SECRET', 'API_KEYS', 'DATABASE_URL', 'REDIS_URL', 'REDIS_PASSWORD', 'ADMIN_PASSWORD'
] as const

/** `.env` (when present) under the real environment, with `NAME_FILE` indirections resolved. */
export function rawEnvironment (env: NodeJS.ProcessEnv, cwd: string): Record<string, string> {
  const dotenvPath = join(cwd, '.env')
  const merged: Record<string, string> = { ...(existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) as Record<string, string> : {}) }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v
  for (const name of FILE_VARIABLES) {
    const file = merged[`${name}_FILE`]
    if (file === undefined) continue
    if (merged[name] !== undefined) throw new ConfigError(`${name}_FILE`, `set together with ${name}; give one of them`)
    merged[name] = readVariableFile(`${name}_FILE`, file, cwd).replace(/\r?\n$/, '')
  }
  return merged
}

/** A file a variable names (a secret, a PEM key or certificate), relative to the working directory. */
export function readVariableFile (variable: string, path: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8')
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

export function list (value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean)
}

/**
 * A URL with a host, or a ConfigError naming the variable and showing `example`. The value is
 * never quoted: it may carry a password.
 */
export function serverUrl (variable: string, value: string, example: string): URL {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  if (url === undefined || url.hostname === '') throw new ConfigError(variable, `is not a URL such as ${example}`)
  return url
}

/** TRUST_PROXY: off, on, a hop count, or the proxies' addresses, CIDR ranges and named ranges. */
export function trustProxy (value: string): boolean | number | string[] {
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  const entries = list(value)
  for (const entry of entries) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry)) {
      throw new ConfigError('TRUST_PROXY', `'${entry}' is not an address, a CIDR range, loopback, linklocal or uniquelocal`)
    }
  }
  return entries
}
